// The kernels added to the wasm backend must agree with the cpu backend's.
import { describe, it, expect, beforeAll } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng } from '../../src/rng.js';
import { selectBackend } from '../../src/backend/select.js';
import { WASM_ADDED_KERNELS } from '../../src/backend/wasm-kernels.js';

type T = tf.Tensor;

async function on<R>(backend: 'cpu' | 'wasm', fn: () => T): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const t = fn();
    return { values: t.dataSync() as Float32Array, shape: t.shape };
  });
}

/** Runs fn on both backends (inputs built from the same seeded numbers) and compares. */
async function agree(fn: () => T, atol: number): Promise<void> {
  const before = tf.memory().numTensors;
  const c = await on('cpu', fn);
  const w = await on('wasm', fn);
  expect(w.shape).toEqual(c.shape);
  let worst = 0;
  c.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - w.values[i]!))));
  expect(worst).toBeLessThanOrEqual(atol);
  expect(Math.max(...Array.from(c.values, Math.abs))).toBeGreaterThan(0);
  expect(tf.memory().numTensors).toBe(before);
}

const uni = (seed: number, shape: number[]) =>
  tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

beforeAll(async () => {
  await selectBackend({ backend: 'wasm', quiet: true });
});

describe('wasm kernels added by core', () => {
  it('are registered, and the wasm backend had none of them', () => {
    for (const k of WASM_ADDED_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeDefined();
  });

  // Sums of ~N*OH*OW float32 products of O(1) values: 2e-4 absolute is float32 reordering noise.
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [h, k] of [[7, 3], [8, 4]] as const) {
        it(`Conv2DBackpropFilter matches cpu (stride ${stride}, ${pad}, ${h}x${h} input, ${k}x${k} filter)`, async () => {
          const x = () => uni(1, [2, h, h, 3]);
          const out = tf.tidy(() => tf.conv2d(x() as tf.Tensor4D, tf.zeros([k, k, 3, 4]) as tf.Tensor4D, stride, pad).shape);
          tf.dispose();
          await agree(
            () =>
              tf.engine().runKernel(
                'Conv2DBackpropFilter',
                { x: x(), dy: uni(2, out) },
                { strides: stride, pad, dataFormat: 'NHWC', filterShape: [k, k, 3, 4] },
              ) as T,
            2e-4,
          );
        });
      }
    }
  }

  it('UnsortedSegmentSum matches cpu (repeated and negative ids)', async () => {
    await agree(
      () => tf.unsortedSegmentSum(uni(3, [5, 2, 3]), tf.tensor1d([2, 0, 2, -1, 3], 'int32'), 4),
      1e-6,
    );
  });

  it('gather gradient (UnsortedSegmentSum) runs on wasm', async () => {
    await agree(() => tf.grad((t: T) => tf.sum(tf.square(tf.gather(t, tf.tensor1d([1, 1, 0], 'int32')))))(uni(4, [3, 2])), 1e-6);
  });

  it('BroadcastTo kernel matches the cpu tile', async () => {
    await tf.setBackend('wasm');
    const w = tf.tidy(() => (tf.engine().runKernel('BroadcastTo', { x: uni(5, [3, 1]) }, { shape: [2, 3, 4], inputShape: [3, 1] }) as T).arraySync());
    await tf.setBackend('cpu');
    const c = tf.tidy(() => tf.tile(tf.reshape(uni(5, [3, 1]), [1, 3, 1]), [2, 1, 4]).arraySync());
    expect(w).toEqual(c);
  });

  it('LogSoftmax kernel matches x − logSumExp(x)', async () => {
    await tf.setBackend('wasm');
    const w = tf.tidy(() => (tf.engine().runKernel('LogSoftmax', { logits: uni(6, [3, 5]) }, { axis: -1 }) as T).dataSync());
    await tf.setBackend('cpu');
    const c = tf.tidy(() => tf.sub(uni(6, [3, 5]), tf.logSumExp(uni(6, [3, 5]), -1, true)).dataSync());
    c.forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThan(1e-6));
  });

  it('conv meta-gradient (gradient of Conv2DBackpropFilter) agrees between wasm and cpu', async () => {
    const f = () => {
      const x = uni(7, [1, 6, 6, 2]);
      const inner = (k: T) => tf.sum(tf.tanh(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 2, 'same')));
      return tf.grad((k: T) => tf.sum(tf.square(tf.grad(inner)(k))))(uni(8, [3, 3, 2, 2]));
    };
    await agree(f, 2e-4);
  });
});

import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';
import { checkSecondOrderFixes, installSecondOrderFixes, secondOrderFixedKernels } from '../../src/second-order/install.js';

describe('second-order fixes installation', () => {
  it('is in place once core is loaded: Tanh saves its input (its output only for unrecorded backwards)', () => {
    const g = tf.getGradient('Tanh');
    expect(g.inputsToSave).toEqual(['x']);
    expect(g.outputsToSave).toEqual([true]);
    expect(secondOrderFixedKernels()).toContain('Conv2DBackpropFilter');
    expect(() => checkSecondOrderFixes()).not.toThrow();
  });
  it('detects a later tfjs import that puts the stock gradients back, and can be reinstalled', () => {
    const ours = tf.getGradient('Tanh');
    // What register_all_gradients does on a late import: the stock, output-saving Tanh gradient.
    tf.registerGradient({
      kernelName: 'Tanh',
      outputsToSave: [true],
      gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(1, tf.square(y!)), dy as tf.Tensor) }),
    });
    try {
      expect(() => checkSecondOrderFixes()).toThrow(/Tanh \(saves its output/);
    } finally {
      installSecondOrderFixes();
    }
    expect(tf.getGradient('Tanh')).toBe(ours);
    expect(() => checkSecondOrderFixes()).not.toThrow();
  });

  it('batchNorm without scale/offset: same values as with 1 and 0, a first-order gradient, no tensor left (cpu and wasm)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await selectBackend({ backend, quiet: true });
      const x = tf.tensor2d([[1, -2, 0.5], [3, 0, -1]]);
      const mean = tf.tensor1d([0.5, -1, 0]);
      const variance = tf.tensor1d([2, 1, 0.25]);
      const before = tf.memory().numTensors;
      const y = tf.batchNorm(x, mean, variance);
      expect(tf.memory().numTensors).toBe(before + 1); // the fills are freed outside a gradient
      const ref = tf.tidy(() => tf.batchNorm(x, mean, variance, tf.zeros([3]), tf.ones([3])));
      expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.batchNorm(v, mean, variance))))(x);
      const want = tf.tidy(() => tf.div(tf.mul(2, tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)))), tf.sqrt(tf.add(variance, 1e-3))));
      g.dataSync().forEach((v, i) => expect(v).toBeCloseTo(want.dataSync()[i]!, 5));
      tf.dispose([y, ref, g, want]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, mean, variance]);
    }
    await selectBackend({ backend: 'cpu', quiet: true });
  });

  it('Tanh, Sigmoid, Exp reuse the saved output only where nothing records the backward', async () => {
    const ops = [['Tanh', tf.tanh], ['Sigmoid', tf.sigmoid], ['Exp', tf.exp]] as const;
    for (const [name, op] of ops) {
      const x = tf.tensor1d([-1.3, 0.2, 0.9]);
      const calls = async (f: () => tf.Tensor) => {
        const info = await tf.profile(() => tf.tidy(() => f().dataSync()) as unknown as tf.Tensor);
        return info.kernels.filter((k) => k.name === name).length;
      };
      const first = (t: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(op(u)))(t);
      // The outermost gradient: only the forward runs the op; the backward reads its saved output.
      expect(await calls(() => first(x)), name).toBe(1);
      // Differentiated again: the forward, then the recorded inner backward recomputes it from x (a
      // saved output would be a constant there and lose the second-order term); the outermost
      // backward through that recomputation reads its saved output (recomputing there too made 3).
      expect(await calls(() => tf.grad((t: tf.Tensor) => tf.sum(first(t)))(x)), name).toBe(2);
      // Same numbers either way: the saved output is the forward's own tensor.
      const y = op(x);
      const want = name === 'Tanh' ? tf.sub(1, tf.square(y)) : name === 'Sigmoid' ? tf.mul(y, tf.sub(1, y)) : y;
      expect(Array.from(first(x).dataSync()), name).toEqual(Array.from(want.dataSync()));
      tf.dispose([x, y, want]);
    }
  });
});

// The kernels core adds to, or replaces in, the wasm backend must agree with the cpu backend's.
import { describe, it, expect, beforeAll } from 'vitest';
import { tf } from '../../src/tf.js';
import { padShape, prod } from '../../src/backend/composer.js';
import { Rng } from '../../src/rng.js';
import { selectBackend } from '../../src/backend/select.js';
import { WASM_ADDED_KERNELS, WASM_REPLACED_KERNELS, mergeBroadcastDims, registerWasmKernels, wasmKernelTuning } from '../../src/backend/wasm-kernels.js';

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

/** wasm heap buffers (tensors and kernel intermediates); an intermediate left undisposed shows here. */
const wasmDataIds = () => (tf.findBackend('wasm') as unknown as { numDataIds(): number }).numDataIds();

/**
 * Runs fn on cpu and wasm and compares: |wasm − cpu| ≤ rtol · max|cpu| (reordered float32 sums), or
 * per element ≤ rtol · |cpu| when `elementwise`. No tensor and no wasm buffer may be left behind.
 */
async function agreeRel(fn: () => T, rtol: number, elementwise = false): Promise<void> {
  const before = tf.memory().numTensors;
  const c = await on('cpu', fn);
  const ids = wasmDataIds();
  const w = await on('wasm', fn);
  expect(wasmDataIds()).toBe(ids);
  expect(tf.memory().numTensors).toBe(before);
  expect(w.shape).toEqual(c.shape);
  const scale = Math.max(...Array.from(c.values, Math.abs));
  expect(scale).toBeGreaterThan(0);
  let bad = 0;
  let worst = 0;
  c.values.forEach((v, i) => {
    const d = Math.abs(v - w.values[i]!);
    const tol = rtol * (elementwise ? Math.abs(v) : scale);
    worst = Math.max(worst, d / (elementwise ? Math.abs(v) || 1 : scale));
    if (!(d <= tol)) bad++;
  });
  expect(bad, `worst relative error ${worst.toExponential(2)}`).toBe(0);
}

describe('wasm kernels replaced by core', () => {
  it('are registered in place of the stock kernels, idempotently', () => {
    expect(WASM_REPLACED_KERNELS).toEqual(
      expect.arrayContaining(['Identity', 'BatchMatMul', 'Conv2DBackpropInput', 'Tanh', 'Equal', 'Greater', 'Less']),
    );
    const before = WASM_REPLACED_KERNELS.map((k) => tf.getKernel(k, 'wasm')!.kernelFunc);
    expect(registerWasmKernels()).toEqual([]);
    expect(WASM_REPLACED_KERNELS.map((k) => tf.getKernel(k, 'wasm')!.kernelFunc)).toEqual(before);
  });

  it('Identity shares the buffer: a clone survives its source, and the memory goes with the last one', async () => {
    await tf.setBackend('wasm');
    const b = tf.engine().backend as unknown as { numDataIds(): number };
    const ids = b.numDataIds();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(b.numDataIds()).toBe(ids + 1); // no copy
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(b.numDataIds()).toBe(ids);
    // what the tape saves is a clone: gradients through saved tensors are unchanged
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.exp(v), v)))(tf.tensor1d([0.5, -1]));
    expect(Array.from(g.dataSync()).map((v) => +v.toFixed(5))).toEqual([+(Math.exp(0.5) * 1.5).toFixed(5), 0]);
  });

  // Random shapes (seeded), every transpose combination, batched/unbatched operands (the fold of a
  // batched A against an unbatched B) and batch broadcasting.
  const r = new Rng(21);
  const dim = () => 1 + r.int(9);
  const mm: Array<[number[], number[]]> = [];
  for (let i = 0; i < 4; i++) mm.push([[dim(), dim()], []]);
  mm.push([[3, dim(), dim()], []], [[2, 3, dim(), dim()], []], [[1, dim(), dim()], [3]], [[3, dim(), dim()], [3]], [[1, dim(), dim()], [1]]);
  for (const [[...aDims], bBatch] of mm) {
    const [m, k] = aDims.slice(-2) as [number, number];
    const n = dim();
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aShape = [...aDims.slice(0, -2), ...(ta ? [k, m] : [m, k])];
        const bShape = [...bBatch, ...(tb ? [n, k] : [k, n])];
        it(`BatchMatMul matches cpu: [${aShape}]${ta ? 'ᵀ' : ''} · [${bShape}]${tb ? 'ᵀ' : ''}`, async () => {
          await agreeRel(() => tf.matMul(uni(31, aShape), uni(32, bShape), ta, tb), 1e-5);
        });
      }
    }
  }

  it('a composed kernel that throws halfway frees what it made (the engine only tracks what kernels return)', async () => {
    await tf.setBackend('wasm');
    const b = tf.engine().backend as unknown as { numDataIds(): number };
    const x = tf.randomNormal([1, 6, 6, 2]);
    const dy = tf.randomNormal([1, 6, 6, 3]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 2, 3] };
    // Core's Conv2DBackpropFilter transposes x, then dy: make the second Transpose fail.
    const k = tf.getKernel('Transpose', 'wasm')!;
    const f = k.kernelFunc;
    let calls = 0;
    (k as { kernelFunc: typeof f }).kernelFunc = (args) => {
      if (++calls === 2) throw new Error('injected failure');
      return f(args);
    };
    const ids = b.numDataIds();
    wasmKernelTuning.simdConvGrad = false; // the composed path (im2col makes no Transpose)
    try {
      expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never)).toThrow(/injected failure/);
    } finally {
      (k as { kernelFunc: typeof f }).kernelFunc = f;
      wasmKernelTuning.simdConvGrad = true;
    }
    expect(calls).toBe(2);
    expect(b.numDataIds()).toBe(ids); // the transposed x is freed
    tf.dispose([x, dy]);
  });

  it('without the SIMD kernel, a 2-D product swapped to (Bᵀ·Aᵀ)ᵀ gives the direct product bit for bit; auto swaps only where a big operand would be transposed', async () => {
    await tf.setBackend('wasm');
    const was = wasmKernelTuning.matMulSwap;
    wasmKernelTuning.simdMatMul = false;
    const run = (mode: typeof was, a: tf.Tensor2D, b: tf.Tensor2D, ta: boolean, tb: boolean) => {
      wasmKernelTuning.matMulSwap = mode;
      return tf.tidy(() => tf.matMul(a, b, ta, tb).dataSync());
    };
    try {
      for (const [m, k, n] of [[5, 7, 3], [1, 9, 17], [33, 2, 4]] as const) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = uni(51, ta ? [k, m] : [m, k]) as tf.Tensor2D;
            const b = uni(52, tb ? [n, k] : [k, n]) as tf.Tensor2D;
            expect(Array.from(run('always', a, b, ta, tb))).toEqual(Array.from(run('never', a, b, ta, tb)));
            tf.dispose([a, b]);
          }
        }
      }
      // dx = dy·Wᵀ of a wide dense layer: swapped (Aᵀ and C transposed); a square layer's is not (Bᵀ only).
      // The Transpose kernel calls it makes (a spy on the registered kernel: composed kernels call it directly).
      const transposes = async (sa: [number, number], sb: [number, number]) => {
        wasmKernelTuning.matMulSwap = 'auto';
        const k = tf.getKernel('Transpose', 'wasm')!;
        const f = k.kernelFunc;
        const seen: number[][] = [];
        (k as { kernelFunc: typeof f }).kernelFunc = (args) => (seen.push([...(args.inputs['x'] as tf.TensorInfo).shape]), f(args));
        try {
          tf.tidy(() => tf.matMul(tf.zeros(sa) as tf.Tensor2D, tf.zeros(sb) as tf.Tensor2D, false, true).dataSync());
        } finally {
          (k as { kernelFunc: typeof f }).kernelFunc = f;
        }
        return seen;
      };
      expect(await transposes([4, 64], [4096, 64])).toEqual([[4, 64], [4096, 4]]);
      expect(await transposes([64, 64], [64, 64])).toEqual([[64, 64]]);
    } finally {
      wasmKernelTuning.matMulSwap = was;
      wasmKernelTuning.simdMatMul = true;
    }
  });

  // Core's SIMD kernel (wasm-simd-gemm.ts; its own tests run it directly): against cpu and float64,
  // every transpose combination, sizes 1..17 (its tiles' tails) and 0, batched and broadcast batches.
  describe('BatchMatMul on the SIMD kernel', () => {
    /** float64 a·b over the broadcast batch (batches flattened row-major, size-1 dims broadcast). */
    const matMul64 = (a: Float32Array, sa: number[], b: Float32Array, sb: number[], ta: boolean, tb: boolean) => {
      const [m, k] = ta ? [sa.at(-1)!, sa.at(-2)!] : [sa.at(-2)!, sa.at(-1)!];
      const n = tb ? sb.at(-2)! : sb.at(-1)!;
      const batch = tf.backend_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
      const index = (shape: number[], at: number[]) => padShape(shape, at.length).reduce((f, d, i) => f * d + (d === 1 ? 0 : at[i]!), 0);
      const out: number[] = [];
      for (let flat = 0; flat < prod(batch); flat++) {
        const at = batch.map((_, i) => Math.floor(flat / prod(batch.slice(i + 1))) % batch[i]!);
        const [oa, ob] = [index(sa.slice(0, -2), at) * m * k, index(sb.slice(0, -2), at) * k * n];
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += a[oa + (ta ? p * m + i : i * k + p)]! * b[ob + (tb ? j * k + p : p * n + j)]!;
            out.push(s);
          }
        }
      }
      return out;
    };
    const cases: Array<[number[], number[], number, number, number]> = [
      [[], [], 1, 1, 1], [[], [], 17, 9, 13], [[], [], 5, 17, 2], [[], [], 16, 3, 17], [[], [], 9, 12, 8],
      [[3], [], 7, 10, 5], [[2, 3], [3], 5, 9, 11], [[1], [4], 6, 5, 3], [[2, 1], [1, 3], 3, 8, 4], [[4], [4], 13, 2, 7],
    ];
    for (const [ba, bb, m, k, n] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const sa = [...ba, ...(ta ? [k, m] : [m, k])];
          const sb = [...bb, ...(tb ? [n, k] : [k, n])];
          it(`matches cpu and float64: [${sa}]${ta ? 'ᵀ' : ''} · [${sb}]${tb ? 'ᵀ' : ''}`, async () => {
            const f = () => tf.matMul(uni(35, sa), uni(36, sb), ta, tb);
            await agreeRel(f, 1e-6);
            await tf.setBackend('wasm');
            const got = tf.tidy(() => f().dataSync());
            const want = matMul64(uni(35, sa).dataSync() as Float32Array, sa, uni(36, sb).dataSync() as Float32Array, sb, ta, tb);
            tf.dispose();
            let worst = 0;
            want.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]!))));
            expect(worst).toBeLessThan(3e-6 * Math.sqrt(k)); // float32 sums of k products of values in [−1, 1]
          });
        }
      }
    }

    it('gives zeros for k = 0 and empty results for m = 0 or n = 0, without leaks', async () => {
      await tf.setBackend('wasm');
      const ids = wasmDataIds();
      const tensors = tf.memory().numTensors;
      for (const [sa, sb, ta, tb] of [[[3, 0], [0, 4], false, false], [[0, 3], [4, 0], true, true], [[2, 3, 0], [5, 0], false, true], [[0, 5], [5, 2], false, false], [[3, 5], [2, 5], false, true]] as const) {
        const y = tf.tidy(() => tf.matMul(tf.ones([...sa]), tf.ones([...sb]), ta, tb));
        const want = tf.tidy(() => tf.matMul(tf.ones([...sa]), tf.ones([...sb]), ta, tb).shape);
        expect(y.shape, `[${sa}] · [${sb}]`).toEqual(want);
        expect(Array.from(y.dataSync()).every((v) => v === ((sa as readonly number[]).includes(0) && (sb as readonly number[]).includes(0) ? 0 : 5)), `[${sa}] · [${sb}]`).toBe(true);
        y.dispose();
      }
      expect(tf.memory().numTensors).toBe(tensors);
      expect(wasmDataIds()).toBe(ids);
    });

    it('gives the same bits for the same inputs; A·B sums k in order, as XNNPACK does, and A·Bᵀ in four lanes', async () => {
      await tf.setBackend('wasm');
      const run = (mode: boolean, tb: boolean) => {
        wasmKernelTuning.simdMatMul = mode;
        return tf.tidy(() => Array.from(new Uint32Array(tf.matMul(uni(37, [3, 33, 70]), uni(38, tb ? [41, 70] : [70, 41]), false, tb).dataSync().buffer)));
      };
      try {
        for (const tb of [false, true]) expect(run(true, tb)).toEqual(run(true, tb));
        // So a B handed over to XNNPACK's operator cache (xnnpackPays) keeps its products' bits…
        expect(run(false, false)).toEqual(run(true, false));
        // …and the dot form is what runs for A·Bᵀ: some of the 3·33·41 values differ in the last bits.
        expect(run(false, true)).not.toEqual(run(true, true));
      } finally {
        wasmKernelTuning.simdMatMul = true;
      }
    });
  });

  type Shape4 = [number, number, number, number];
  const convCases: Array<{ x: Shape4; w: Shape4; s: number; pad: 'same' | 'valid' | number }> = [
    { x: [2, 8, 8, 3], w: [4, 4, 3, 5], s: 2, pad: 'same' },
    { x: [2, 7, 9, 4], w: [3, 3, 4, 2], s: 1, pad: 'same' },
    { x: [1, 9, 7, 3], w: [5, 5, 3, 4], s: 1, pad: 'same' },
    { x: [1, 8, 8, 2], w: [3, 3, 2, 3], s: 1, pad: 'valid' },
    { x: [2, 9, 8, 3], w: [3, 3, 3, 4], s: 2, pad: 'valid' },
    { x: [1, 15, 13, 3], w: [4, 4, 3, 4], s: 2, pad: 'same' },
    { x: [1, 10, 11, 2], w: [2, 3, 2, 3], s: 2, pad: 'valid' },
    { x: [1, 8, 8, 2], w: [3, 3, 2, 2], s: 2, pad: 1 },
  ];
  // Tiny shapes: with the size threshold at 0 so that core's replacement, not the stock kernel, runs
  // (the composed one: im2col is off here and has its own tests below).
  for (const cc of convCases) {
    it(`Conv2DBackpropInput matches cpu: x [${cc.x}], filter [${cc.w}], stride ${cc.s}, pad ${cc.pad}`, async () => {
      const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(cc.x) as tf.Tensor4D, tf.zeros(cc.w) as tf.Tensor4D, cc.s, cc.pad).shape);
      const threshold = wasmKernelTuning.conv2dBackpropInputMinPositions;
      wasmKernelTuning.conv2dBackpropInputMinPositions = 0;
      wasmKernelTuning.simdConvGrad = false;
      try {
        await agreeRel(
          () => tf.conv2dTranspose(uni(41, dyShape) as tf.Tensor4D, uni(42, cc.w) as tf.Tensor4D, cc.x, cc.s, cc.pad),
          1e-5,
        );
      } finally {
        wasmKernelTuning.conv2dBackpropInputMinPositions = threshold;
        wasmKernelTuning.simdConvGrad = true;
      }
    });
  }

  // Conv2DBackpropFilter / Input as im2col / col2im around the SIMD GEMM (wasm-simd-im2col.ts; the
  // module's own tests run it directly): odd sizes, strides 1–3, every kind of padding, batches, few
  // and many output channels (the swapped filter product, the copied Wᵀ), in one chunk of output rows
  // and in chunks of one row (convScratchFloats = 1).
  describe('conv2d gradients as im2col + SIMD GEMM', () => {
    type Pad = 'same' | 'valid' | number | number[][];
    const cases: Array<{ x: Shape4; w: Shape4; s: [number, number]; pad: Pad; round?: 'floor' | 'ceil' | 'round' }> = [
      { x: [2, 7, 9, 3], w: [3, 3, 3, 9], s: [1, 1], pad: 'same' },
      { x: [3, 9, 8, 5], w: [4, 4, 5, 2], s: [2, 2], pad: 'same' },
      { x: [1, 11, 10, 2], w: [2, 3, 2, 8], s: [3, 2], pad: 'valid' },
      { x: [2, 8, 7, 1], w: [5, 5, 1, 3], s: [3, 3], pad: 'same' },
      { x: [2, 6, 7, 4], w: [3, 2, 4, 10], s: [2, 1], pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
      { x: [1, 9, 9, 3], w: [3, 3, 3, 4], s: [2, 2], pad: 1, round: 'ceil' },
      { x: [2, 5, 5, 6], w: [1, 1, 6, 5], s: [2, 2], pad: 'valid' },
    ];
    const attrsOf = (cc: (typeof cases)[number]) => ({ strides: cc.s, pad: cc.pad, dataFormat: 'NHWC', dimRoundingMode: cc.round });
    const dyShapeOf = (cc: (typeof cases)[number]) =>
      tf.backend_util.computeConv2DInfo(cc.x, cc.w, cc.s, 1, cc.pad as 'same', cc.round).outShape;
    const filterGrad = (cc: (typeof cases)[number]) => () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: uni(91, cc.x), dy: uni(92, dyShapeOf(cc)) }, { ...attrsOf(cc), filterShape: cc.w } as never) as T;
    const inputGrad = (cc: (typeof cases)[number]) => () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: uni(92, dyShapeOf(cc)), filter: uni(93, cc.w) }, { ...attrsOf(cc), inputShape: cc.x } as never) as T;
    /** fn with the scratch capped at `scratch` floats and the composed input path's threshold at 0
     * (so the rule picks by stride and channels alone, as at real sizes). */
    const tuned = async <R>(scratch: number, fn: () => Promise<R>): Promise<R> => {
      const was = [wasmKernelTuning.convScratchFloats, wasmKernelTuning.conv2dBackpropInputMinPositions] as const;
      [wasmKernelTuning.convScratchFloats, wasmKernelTuning.conv2dBackpropInputMinPositions] = [scratch, 0];
      try {
        return await fn();
      } finally {
        [wasmKernelTuning.convScratchFloats, wasmKernelTuning.conv2dBackpropInputMinPositions] = was;
      }
    };
    /** The bits of fn's result on wasm, and the names of the wasm kernels it ran inside. */
    const runWasm = async (fn: () => T) => {
      await tf.setBackend('wasm');
      const names = ['Conv2D', 'Transpose', 'Reverse'];
      const seen: string[] = [];
      const saved = names.map((n) => {
        const k = tf.getKernel(n, 'wasm')!;
        const f = k.kernelFunc;
        (k as { kernelFunc: typeof f }).kernelFunc = (args) => (seen.push(n), f(args));
        return [k, f] as const;
      });
      try {
        const v = tf.tidy(() => fn().dataSync() as Float32Array);
        return { bits: Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length)), seen };
      } finally {
        for (const [k, f] of saved) (k as { kernelFunc: typeof f }).kernelFunc = f;
      }
    };
    for (const cc of cases) {
      const name = `x [${cc.x}], filter [${cc.w}], strides ${cc.s}, pad ${JSON.stringify(cc.pad)}${cc.round ? ` (${cc.round})` : ''}`;
      it(`match cpu, in one chunk and in one-row chunks, without leaks: ${name}`, async () => {
        for (const scratch of [1 << 22, 1]) {
          await tuned(scratch, async () => {
            await agreeRel(filterGrad(cc), 1e-5);
            await agreeRel(inputGrad(cc), 1e-5);
          });
        }
      });
    }

    const forward = (cc: (typeof cases)[number]) => () =>
      tf.engine().runKernel('Conv2D', { x: uni(91, cc.x), filter: uni(93, cc.w) }, { ...attrsOf(cc), dilations: [1, 1] } as never) as T;
    for (const cc of cases) {
      const name = `x [${cc.x}], filter [${cc.w}], strides ${cc.s}, pad ${JSON.stringify(cc.pad)}${cc.round ? ` (${cc.round})` : ''}`;
      it(`the forward Conv2D (im2col) matches cpu, in one chunk and in one-row chunks, without leaks: ${name}`, async () => {
        for (const scratch of [1 << 22, 1]) await tuned(scratch, () => agreeRel(forward(cc), 1e-5));
      });
    }

    it('the forward Conv2D: the same bits in any chunking; right when dilated (XNNPACK), with an empty filter, and switched off', async () => {
      const cc = cases[0]!;
      const one = await tuned(1 << 22, () => runWasm(forward(cc)));
      const rows = await tuned(1, () => runWasm(forward(cc)));
      expect(rows.bits).toEqual(one.bits);
      const dilated = () => tf.conv2d(uni(91, [1, 9, 9, 2]) as tf.Tensor4D, uni(93, [3, 3, 2, 4]) as tf.Tensor4D, 1, 'same', 'NHWC', 2);
      await agreeRel(dilated, 1e-5);
      await agreeRel(() => tf.add(tf.conv2d(tf.zeros([2, 4, 4, 0]) as tf.Tensor4D, tf.zeros([3, 3, 0, 5]) as tf.Tensor4D, 1, 'same'), 0.5), 0);
      wasmKernelTuning.simdConv2D = false;
      try {
        await agreeRel(forward(cc), 1e-5);
      } finally {
        wasmKernelTuning.simdConv2D = true;
      }
    });

    it('run without Conv2D, Reverse or stride dilation; the same inputs give the same bits; dx does not depend on the chunking', async () => {
      const cc = cases[1]!;
      const [f1, f2, i1, i2] = await tuned(1 << 22, async () => [await runWasm(filterGrad(cc)), await runWasm(filterGrad(cc)), await runWasm(inputGrad(cc)), await runWasm(inputGrad(cc))]);
      expect(f1.seen).toEqual(['Transpose']); // the swapped product's dWᵀ (2 output channels) only
      expect(i1.seen).toEqual(['Transpose']); // the copied Wᵀ (2 output channels) only
      expect(f2.bits).toEqual(f1.bits);
      expect(i2.bits).toEqual(i1.bits);
      const i3 = await tuned(1, () => runWasm(inputGrad(cc)));
      expect(i3.bits).toEqual(i1.bits);
      const wide = await tuned(1 << 22, () => runWasm(filterGrad(cases[0]!)));
      expect(wide.seen).toEqual([]);
    });

    it('keep the composed input gradient at stride 1 with few output channels, and everything composed when switched off', async () => {
      const few = { x: [1, 6, 6, 3] as Shape4, w: [3, 3, 3, 4] as Shape4, s: [1, 1] as [number, number], pad: 'same' as Pad };
      expect((await tuned(1 << 22, () => runWasm(inputGrad(few)))).seen).toContain('Conv2D');
      wasmKernelTuning.simdConvGrad = false;
      try {
        expect((await runWasm(filterGrad(cases[0]!))).seen).toContain('Conv2D');
        expect((await tuned(1 << 22, () => runWasm(inputGrad(cases[1]!)))).seen).toContain('Conv2D');
      } finally {
        wasmKernelTuning.simdConvGrad = true;
      }
    });
  });

  // Values rounded to a coarse grid so that equality is often true.
  const grid = (seed: number, shape: number[]) => tf.round(tf.mul(uni(seed, shape), 2));
  const cmps: Array<[string, (a: T, b: T) => T]> = [
    ['Equal', tf.equal], ['NotEqual', tf.notEqual], ['Greater', tf.greater],
    ['GreaterEqual', tf.greaterEqual], ['Less', tf.less], ['LessEqual', tf.lessEqual],
  ];
  for (const [name, op] of cmps) {
    for (const [sa, sb] of [[[2, 4, 2, 3, 2, 5], [2, 4, 1, 3, 1, 5]], [[3, 1, 4], [1, 5, 1]], [[4, 3], [3]], [[6], [6]]]) {
      it(`${name} matches cpu exactly: [${sa}] vs [${sb}]`, async () => {
        await agreeRel(() => tf.add(tf.cast(op(grid(51, sa!), grid(52, sb!)), 'float32'), 0.5), 0);
      });
    }
  }
  // Max over middle axes: core's native pass (wasm-simd-reduce-max.ts); other reductions stay stock.
  for (const [shape, axes, keep] of [
    [[2, 3, 2, 5, 2, 7], [2, 4], false], [[2, 3, 2, 5, 2, 8], [2, 4], true], [[4, 6, 9], [1], false], [[3, 4, 5, 6], [1, 2], true],
    [[2, 3, 4, 5], [0, 2], false], [[5, 1, 3, 1, 4], [0, 1, 3], false], [[2, 3, 4], [0, 2], false], [[2, 2, 3, 2, 3, 2], [0, 2, 4], false], [[3, 5], [1], true],
  ] as Array<[number[], number[], boolean]>) {
    it(`Max over axes [${axes}] of [${shape}]${keep ? ' (keepDims)' : ''} matches cpu exactly`, async () => {
      await agreeRel(() => tf.add(tf.max(uni(61, shape), axes, keep), 2), 0);
    });
  }
  it('Max over middle axes: a NaN anywhere in a window gives NaN, as on cpu', async () => {
    const vals = [NaN, 1, 2, 3, 4, NaN, 5, 6, 7, 8, NaN, 9, 0, 1, 2, 3];
    const c = await on('cpu', () => tf.max(tf.tensor(vals, [1, 4, 4]), [1]));
    const w = await on('wasm', () => tf.max(tf.tensor(vals, [1, 4, 4]), [1]));
    expect(Array.from(w.values).map(String)).toEqual(Array.from(c.values).map(String));
    expect(Array.from(w.values).map(String)).toEqual(['NaN', 'NaN', 'NaN', '9']);
  });

  for (const [shape, axes] of [[[2, 3, 2, 5, 2, 7], [2, 4]], [[2, 3, 2, 5, 2, 8], [2, 4]], [[4, 6, 9], [1]], [[3, 4, 5, 6], [1, 2]], [[2, 3, 4, 5], [0, 2]]] as Array<[number[], number[]]>) {
    it(`Equal of x and its Max over [${axes}] (keepDims) of [${shape}], either way round, with ties and NaN, matches cpu exactly`, async () => {
      const x = () => {
        const g = grid(55, shape);
        return tf.where(tf.greater(tf.abs(uni(56, shape)), 0.97), tf.fill(shape, NaN), g);
      };
      const mask = (flip: boolean) => () => {
        const t = x();
        const m = tf.max(t, axes, true);
        return tf.add(tf.cast(flip ? tf.equal(m, t) : tf.equal(t, m), 'float32'), 0.5);
      };
      await agreeRel(mask(false), 0);
      await agreeRel(mask(true), 0);
    });
  }

  it('max-pool mask (the broadcast Equal in the Max gradient) matches cpu', async () => {
    await agreeRel(() => tf.grad((t: T) => tf.sum(tf.mul(tf.max(t, [2, 4]), uni(54, [2, 4, 3, 5]))))(grid(53, [2, 4, 2, 3, 2, 5])), 0);
  });

  it('Tanh matches cpu per element to 1e-5 relative, also near 0 and in saturation', async () => {
    const vals: number[] = [];
    for (const e of [-30, -12, -8, -6, -4, -3, -2, -1]) for (const m of [1, 1.7, 3.3, 7.9]) vals.push(m * 10 ** e, -m * 10 ** e);
    for (let v = -0.25; v <= 0.25; v += 0.0037) vals.push(v); // around the blend of the two forms
    for (let v = -12; v <= 12; v += 0.173) vals.push(v);
    vals.push(20, -20, 100, -100, 1e30, -1e30);
    await agreeRel(() => tf.tanh(tf.tensor1d(vals)), 1e-5, true);
    await agreeRel(() => tf.tanh(tf.mul(uni(61, [7, 33]), 5)), 1e-5, true);
    await tf.setBackend('wasm');
    expect(tf.tidy(() => Array.from(tf.tanh(tf.tensor1d([0, -0, Infinity, -Infinity])).dataSync()))).toEqual([0, -0, 1, -1]); // −0 as on cpu
    expect(tf.tidy(() => Number.isNaN(tf.tanh(tf.scalar(NaN)).dataSync()[0]))).toBe(true);
  });

  // The gradient registrations are by kernel name, so the replacements change no gradient: the
  // second-order paths through them agree with the cpu backend.
  it('second-order gradient through matMul + tanh (MLP) agrees between wasm and cpu', async () => {
    const f = () => {
      const x = uni(71, [6, 3]);
      const w2 = uni(73, [5, 2]);
      const inner = (w1: T) => tf.sum(tf.square(tf.matMul(tf.tanh(tf.matMul(x, w1)), w2)));
      return tf.grad((w1: T) => tf.sum(tf.square(tf.grad(inner)(w1))))(uni(72, [3, 5]));
    };
    await agreeRel(f, 1e-5);
  });

  it('second-order gradient through conv2d stride 2 + max-pool agrees between wasm and cpu', async () => {
    const f = () => {
      const x = uni(81, [2, 8, 8, 2]);
      const inner = (k: T) => {
        const y = tf.tanh(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 2, 'same'));
        return tf.sum(tf.square(tf.max(tf.reshape(y, [2, 2, 2, 2, 2, 3]), [2, 4])));
      };
      return tf.grad((k: T) => tf.sum(tf.square(tf.grad(inner)(k))))(uni(82, [3, 3, 2, 3]));
    };
    await agreeRel(f, 1e-5);
  });
});

describe('wasm Sum over leading/middle axes (ones·X on the SIMD matrix product) and Cast to the same dtype', () => {
  const cases: Array<[number[], number | number[], boolean]> = [
    [[256, 200], 0, false], // a bias gradient
    [[3, 5, 7], [0, 1], false],
    [[3, 5, 7], 1, true], // a middle axis: one product per outer slice
    [[2, 3, 4, 5], [1, 2], false],
    [[2, 3, 4, 5], [2, 1], false], // not in order: stock (it sums in the order given)
    [[2, 3, 4, 5], -3, true],
    [[1, 7], 0, false],
    [[6, 1], 0, false],
    [[3, 4, 5], [0, 2], false], // not one block: stock
    [[3, 4, 5], 2, false], // the last axis: stock
    [[0, 3], 0, false], // empty: stock
  ];
  for (const [shape, axis, keepDims] of cases) {
    it(`Sum [${shape}] over ${JSON.stringify(axis)}${keepDims ? ' (keepDims)' : ''}: the stock kernel's bits, and cpu's values`, async () => {
      const f = () => tf.sum(tf.mul(uni(71, shape), 3), axis, keepDims);
      if (prod(shape) > 0) await agree(f, 1e-5 * Math.sqrt(prod(shape)));
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const ours = tf.tidy(() => f().dataSync());
      wasmKernelTuning.simdMatMul = false;
      try {
        const stock = tf.tidy(() => f().dataSync());
        expect(new Uint32Array(ours.buffer)).toEqual(new Uint32Array(stock.buffer));
      } finally {
        wasmKernelTuning.simdMatMul = true;
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  it('Sum of int32 stays on the stock kernel and is exact', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const y = tf.sum(x, 0);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([9, 12]);
    tf.dispose([x, y]);
  });
  it('Cast to the dtype it has shares the buffer; to another dtype it converts', async () => {
    await tf.setBackend('wasm');
    const b = tf.engine().backend as unknown as { numDataIds(): number };
    const ids = b.numDataIds();
    const x = tf.tensor1d([1.5, -2.25, 3]);
    const y = tf.cast(x, 'float32');
    expect(b.numDataIds()).toBe(ids + 1); // no copy
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2.25, 3]);
    const i = tf.cast(y, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    const back = tf.cast(i, 'float32');
    expect(Array.from(back.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([y, i, back]);
    expect(b.numDataIds()).toBe(ids);
  });
  it('the replacements are in place', () => {
    expect(WASM_REPLACED_KERNELS).toEqual(expect.arrayContaining(['Sum', 'Cast']));
  });
});

describe('wasm Slice and Unpack (rank ≥ 5 merged to rank ≤ 4)', () => {
  const cases: Array<[number[], number[], number[]]> = [
    [[2, 5, 4, 3, 2], [0, 2, 0, 0, 0], [2, 1, 4, 3, 2]], // one frame of a [B, T, H, W, C] batch
    [[2, 5, 4, 3, 2], [1, 1, 1, 0, 0], [1, 3, 2, 3, 2]],
    [[2, 5, 4, 3, 2], [0, 1, 1, 1, 1], [2, 3, 2, 1, 1]], // nothing to merge: stock path
    [[3, 2, 2, 4, 3, 2], [1, 0, 1, 0, 1, 0], [2, 2, 1, 4, 2, 2]],
    [[2, 3, 4, 5, 6], [0, 0, 0, 0, 0], [-1, -1, -1, -1, -1]],
    [[4, 6], [1, 2], [2, 3]],
  ];
  for (const [shape, begin, size] of cases) {
    it(`Slice matches cpu exactly: [${shape}] begin [${begin}] size [${size}]`, async () => {
      await agree(() => tf.slice(uni(61, shape), begin, size), 0);
    });
  }
  for (const [shape, axis] of [[[2, 5, 4, 3, 2], 1], [[2, 5, 4, 3, 2], 0], [[2, 5, 4, 3, 2], 4], [[3, 2, 2, 1, 3, 2], 3], [[4, 3], 1]] as Array<[number[], number]>) {
    it(`Unpack matches cpu exactly: [${shape}] on axis ${axis}`, async () => {
      await agree(() => tf.stack(tf.unstack(uni(62, shape), axis).map((t, i) => tf.mul(t, i + 1))), 0);
    });
  }
  it('the replacements are in place', () => {
    expect(WASM_REPLACED_KERNELS).toEqual(expect.arrayContaining(['Slice', 'Unpack']));
  });
});

describe('wasm Concat (short rows through transposes)', () => {
  const cases: Array<[number[][], number]> = [
    [[[4, 16, 16, 4], [4, 16, 16, 8], [4, 16, 16, 2]], 3], // skip concat of NHWC maps: transposed path
    [[[2, 32, 20, 3], [2, 32, 20, 5]], -1],
    [[[4, 16], [4, 16]], 1], // few rows: stock
    [[[2, 40, 20, 8], [2, 40, 20, 8]], 1], // long rows: stock
  ];
  for (const [shapes, axis] of cases) {
    it(`matches cpu exactly: ${shapes.map((s) => `[${s}]`).join(' + ')} on axis ${axis}`, async () => {
      await agree(() => tf.concat(shapes.map((s, i) => uni(70 + i, s)), axis), 0);
    });
  }
  it('its gradient (the slices) matches cpu', async () => {
    await agree(() => tf.grad((t: T) => tf.sum(tf.square(tf.concat([t, tf.mul(t, 2)], 3))))(uni(75, [2, 32, 20, 3])), 1e-6);
  });
});

describe('wasm binary kernels past rank 6 (XNNPACK takes at most 6 dims; stock wasm is silently wrong)', () => {
  const ops: Array<[string, (a: T, b: T) => T]> = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 1))],
    ['pow', (a, b) => tf.pow(tf.add(tf.abs(a), 0.5), b)], ['squaredDifference', tf.squaredDifference],
    ['prelu', (a, b) => tf.prelu(tf.add(a, tf.zerosLike(b)), b)],
    ['greater', (a, b) => tf.cast(tf.greater(a, b), 'float32')], ['equal', (a, b) => tf.cast(tf.equal(tf.round(tf.mul(a, 2)), tf.round(tf.mul(b, 2))), 'float32')],
  ];
  const shapes: Array<[number[], number[]]> = [
    [[3, 1, 2, 1, 2, 1, 2], [3, 2, 2, 2, 2, 2, 2]], // merges to ≤ 6 dims
    [[1, 1, 2, 1, 1, 2, 1, 1, 2, 1], [1, 1, 2, 2, 1, 2, 2, 1, 2, 2]],
    [[2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2]], // alternates 8 times: tiled out
    [[2, 3, 2, 1, 2, 2, 3], []], // x + scalar
    [[2, 2, 2, 2, 2, 2, 2], [2, 2, 2, 2, 2, 2, 2]],
  ];
  for (const [name, op] of ops) {
    it(`${name} matches cpu at ranks 7–10`, async () => {
      for (const [sa, sb] of shapes) await agreeRel(() => op(uni(61, sa), uni(62, sb)), 1e-6, true);
    });
  }
  it('merges dims without changing the broadcast', () => {
    expect(mergeBroadcastDims([3, 1, 2, 1, 2, 1, 2], [3, 2, 2, 2, 2, 2, 2])).toEqual({ a: [3, 1, 2, 1, 2, 1, 2], b: [3, 2, 2, 2, 2, 2, 2] });
    expect(mergeBroadcastDims([1, 1, 4, 5, 1, 6], [7, 1, 4, 5, 2, 6])).toEqual({ a: [1, 20, 1, 6], b: [7, 20, 2, 6] });
    expect(mergeBroadcastDims([2, 3, 4], [])).toEqual({ a: [24], b: [1] });
    expect(mergeBroadcastDims([1, 1], [1])).toEqual({ a: [1], b: [1] });
  });
});

describe('wasm MaxPoolGrad (stock wasm routes dy to the wrong input in some windows)', () => {
  for (const [f, s, pad] of [[2, 1, 'same'], [2, 2, 'valid'], [3, 2, 'same'], [3, 1, 'valid'], [2, 2, 'same']] as const) {
    it(`tf.maxPool gradient matches cpu: ${f}×${f}, stride ${s}, ${pad}, negative values at the borders`, async () => {
      // Distinct values (no ties), all negative in the first channel: zero padding must never win.
      const x = () => tf.sub(tf.tensor(new Rng(63).permutation(2 * 5 * 7 * 2), [2, 5, 7, 2]), tf.tensor1d([200, 10]));
      const w = (shape: number[]) => uni(64, shape);
      await agreeRel(() => tf.grad((t: T) => { const y = tf.maxPool(t as tf.Tensor4D, f, s, pad); return tf.sum(tf.mul(y, w(y.shape))); })(x()), 1e-6);
    });
  }
});

describe('wasm depthwise conv backprops (none in tfjs-backend-wasm 4.22; core composes them)', () => {
  for (const [cm, s, pad, hw] of [[1, 1, 'same', 5], [2, 2, 'same', 7], [3, 2, 'valid', 6], [2, 1, 'valid', 5], [1, 2, 'same', 4]] as const) {
    it(`input and filter gradients match cpu: multiplier ${cm}, stride ${s}, ${pad}, ${hw}×${hw + 1}`, async () => {
      const x = () => uni(71, [2, hw, hw + 1, 3]);
      const k = () => uni(72, [3, 2, 3, cm]);
      const loss = (a: T, b: T) => {
        const y = tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad);
        return tf.sum(tf.mul(y, uni(73, y.shape)));
      };
      await agreeRel(() => tf.grads(loss)([x(), k()])[0]!, 1e-5);
      await agreeRel(() => tf.grads(loss)([x(), k()])[1]!, 1e-5);
    });
  }
});

describe('wasm Conv3D backprops (stock wasm ones are wrong; core composes them from Conv3D)', () => {
  for (const [s, pad, dims] of [[1, 'same', [3, 4, 5]], [2, 'valid', [3, 4, 5]], [2, 'same', [4, 5, 3]], [1, 'valid', [3, 3, 4]], [[1, 2, 2], 'same', [2, 5, 4]]] as const) {
    it(`tf.conv3d input and filter gradients match cpu: stride ${s}, ${pad}, ${dims.join('×')}`, async () => {
      const loss = (a: T, b: T) => {
        const y = tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, s as [number, number, number], pad);
        return tf.sum(tf.mul(y, uni(83, y.shape)));
      };
      const x = () => uni(81, [2, ...dims, 2]);
      const k = () => uni(82, [2, 3, 2, 2, 3]);
      await agreeRel(() => tf.grads(loss)([x(), k()])[0]!, 1e-5);
      await agreeRel(() => tf.grads(loss)([x(), k()])[1]!, 1e-5);
    });
  }
});

describe('wasm 3-D pooling (stock MaxPool3D is wrong with some same paddings; core composes it)', () => {
  const poolCases: Array<[f: number | [number, number, number], s: number, pad: 'same' | 'valid']> = [[2, 1, 'same'], [3, 2, 'same'], [2, 2, 'valid'], [[1, 2, 2], 1, 'same']];
  for (const [f, s, pad] of poolCases) {
    it(`maxPool3d and avgPool3d, values and gradients, match cpu: ${JSON.stringify(f)}, stride ${s}, ${pad}`, async () => {
      const x = () => uni(91, [2, 3, 4, 5, 2]);
      const pool = (t: T) => tf.concat([tf.maxPool3d(t as tf.Tensor5D, f, s, pad), tf.avgPool3d(t as tf.Tensor5D, f, s, pad)], -1);
      await agreeRel(() => pool(x()), 1e-6);
      await agreeRel(() => tf.grad((t: T) => { const y = pool(t); return tf.sum(tf.mul(y, uni(92, y.shape))); })(x()), 1e-5);
    });
  }
});

describe('wasm Dilation2D (stock wasm is wrong with same padding and some strided valid ones; core composes it)', () => {
  for (const [s, d, pad] of [[1, 1, 'same'], [2, 1, 'same'], [1, 2, 'same'], [2, 1, 'valid']] as const) {
    it(`tf.dilation2d matches cpu: stride ${s}, dilation ${d}, ${pad}`, async () => {
      await agreeRel(() => tf.dilation2d(uni(101, [2, 5, 6, 3]) as tf.Tensor4D, uni(102, [2, 3, 3]) as tf.Tensor3D, s, pad, d), 1e-6);
    });
  }
});

// One finite-difference check per second-order fix: the meta-gradient
// d/dθ outer(θ − lr·∇inner(θ)) from tfjs must match central differences. Each of these failed
// (wrong value or "no gradient") with stock tfjs 4.22.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';
import { traceKernels, SECOND_ORDER_CHECKED } from '../../src/second-order/audit.js';
import { expectMetaGradientsMatch, rng, spaced, uni, weighted } from './fd.js';

type T = tf.Tensor;
type T4 = tf.Tensor4D;

const used = new Set<string>();
/** Runs a check and records the kernels it used (for the coverage test at the end). */
function check(p: Parameters<typeof expectMetaGradientsMatch>[0]): void {
  const { kernels } = traceKernels(() => expectMetaGradientsMatch(p));
  kernels.forEach((k) => used.add(k));
}

/** Meta-problem over one tensor through a unary op. */
function unary(op: (t: T) => T, x: T, seed: number, lr = 0.1) {
  const r = rng(seed);
  const shape = tf.tidy(() => op(x).shape);
  const w1 = weighted(r, shape);
  const w2 = weighted(r, shape);
  check({ params: [x], inner: ([v]) => w1(op(v!)), outer: ([v]) => w2(tf.square(op(v!))), lr });
}


// On both backends: the fixes are built from ops whose kernels differ (wasm has core's replacements).
for (const backend of ['cpu', 'wasm'] as const) {
describe(`second-order fixes match finite differences (${backend})`, () => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true });
  });
  it('Tanh', () => unary(tf.tanh, uni(rng(1), [2, 3], -2, 2), 11));
  it('Sigmoid', () => unary(tf.sigmoid, uni(rng(2), [2, 3], -3, 3), 12));
  it('Exp', () => unary(tf.exp, uni(rng(3), [2, 3], -1, 1), 13));
  it('Elu (both sides of 0)', () => unary(tf.elu, spaced(rng(4), [2, 3], 0.37), 14));
  it('Softmax', () => unary((t) => tf.softmax(t), uni(rng(5), [2, 4], -2, 2), 15));
  it('customGrad ops, recomputed in the backward: tf.logSoftmax, tf.logSigmoid, tf.losses.softmaxCrossEntropy, a user customGrad', () => {
    // Stock: logSoftmax and softmaxCrossEntropy wrong (saved output), logSigmoid throws (freed input).
    unary((t) => tf.logSoftmax(t), uni(rng(6), [2, 4], -2, 2), 16);
    unary((t) => tf.logSigmoid(tf.mul(t, 3)), uni(rng(19), [2, 3], -1, 1), 29);
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 4);
    unary((t) => tf.mul(tf.losses.softmaxCrossEntropy(labels, t), tf.sum(t, 1)), uni(rng(7), [3, 4], -2, 2), 17);
    const expSaved = tf.customGrad((x, save) => {
      const y = tf.exp(x as T);
      // tfjs types every argument of f as Tensor | GradSaveFunc; the last one is the save function.
      (save as tf.GradSaveFunc)([y]);
      return { value: y, gradFunc: (dy, [s]) => tf.mul(dy, s!) };
    });
    unary((t) => expSaved(t), uni(rng(8), [2, 3], -1, 1), 18);
  });
  it('Pow (base and exponent)', () => {
    const r = rng(7);
    const a = uni(r, [2, 3], 0.5, 2);
    const b = uni(r, [2, 3], -1.5, 1.5);
    const w1 = weighted(r, [2, 3]);
    const w2 = weighted(r, [2, 3]);
    check({ params: [a, b], inner: ([x, y]) => w1(tf.pow(x!, y!)), outer: ([x, y]) => w2(tf.pow(x!, y!)) });
  });
  it('Max', () => unary((t) => tf.mul(tf.max(t, 1, true), tf.sum(t, 1, true)), spaced(rng(8), [2, 4]), 18, 0.05));
  it('Min', () => unary((t) => tf.mul(tf.min(t, 0), tf.sum(t, 0)), spaced(rng(9), [3, 2]), 19, 0.05));
  it('comparisons: leakyRelu (Greater) and logSumExp (Max/Equal)', () => {
    unary((t) => tf.mul(tf.leakyRelu(t, 0.2), tf.logSumExp(t, 1, true)), spaced(rng(10), [2, 3], 0.41), 20, 0.05);
  });
  it('Tile beyond rank 4', () => {
    unary((t) => tf.tanh(tf.tile(t, [1, 2, 1, 2, 2])), uni(rng(11), [1, 2, 2, 1, 2]), 21);
  });
  it('StridedSlice (strides 2 and −1)', () => {
    unary((t) => tf.tanh(tf.stridedSlice(t, [0, 3, 1], [3, 0, 4], [2, -1, 2])), uni(rng(12), [3, 4, 4]), 22);
  });
  it('GatherNd and its gradient ScatterNd', () => {
    const idx = tf.tensor2d([[0, 1], [2, 0], [0, 1]], [3, 2], 'int32');
    unary((t) => tf.tanh(tf.gatherND(t, idx)), uni(rng(13), [3, 2, 2]), 23);
  });
  it('EluGrad (kernel called directly, as graph models do)', () => {
    const r = rng(14);
    const dy = uni(r, [2, 3]);
    const x = spaced(r, [2, 3], 0.37);
    const eluGrad = (d: T, v: T) => tf.engine().runKernel('EluGrad', { dy: d, y: tf.elu(v) }) as T;
    const w1 = weighted(r, [2, 3]);
    const w2 = weighted(r, [2, 3]);
    check({
      params: [dy, x],
      inner: ([d, v]) => w1(tf.square(eluGrad(d!, v!))),
      outer: ([d, v]) => w2(eluGrad(d!, v!)),
    });
  });

  it('GatherV2 and its gradient UnsortedSegmentSum (repeated indices)', () => {
    const idx = tf.tensor1d([2, 0, 2, 1], 'int32');
    unary((t) => tf.tanh(tf.gather(t, idx, 1)), uni(rng(15), [2, 3, 2]), 25);
  });
  it('common ops: relu, sin, cos, softplus, sqrt, mean, concat/split, slice, pad, transpose, where, maximum, abs, log', () => {
    const f = (t: T) => {
      const [a, b] = tf.split(t, 2, 1) as [T, T];
      const c = tf.concat([tf.relu(a), tf.sin(b), tf.cos(a), tf.softplus(b)], 1);
      const d = tf.add(tf.sqrt(tf.add(tf.square(c), 1)), tf.log(tf.add(tf.abs(c), 1)));
      const e = tf.where(tf.greater(a, b), tf.maximum(a, tf.mul(b, 0.5)), tf.neg(b));
      const g = tf.pad(tf.slice(tf.transpose(d), [1, 0], [3, 2]), [[0, 1], [1, 0]]);
      const h = tf.sub(tf.slice(tf.reshape(tf.expandDims(d, 0), [2, 8]), [0, 0], [1, 3]), 1);
      return tf.add(tf.addN([tf.mean(g, 0, true), h, h]), tf.div(tf.sum(e), 3));
    };
    unary(f, spaced(rng(16), [2, 4], 0.29), 26, 0.05);
  });
  it('more activations: selu, erf, atan, sinh, cosh, asinh, asin, acos, atanh, acosh, tan, expm1, log1p, reciprocal', () => {
    const f = (t: T) => {
      const h = tf.mul(t, 0.5);
      return tf.concat(
        [tf.selu(t), tf.erf(t), tf.atan(t), tf.sinh(t), tf.cosh(t), tf.asinh(t), tf.asin(h), tf.acos(h), tf.atanh(h),
          tf.acosh(tf.add(tf.square(t), 1.5)), tf.tan(h), tf.expm1(t), tf.log1p(tf.add(t, 1.5)), tf.reciprocal(tf.add(t, 2))],
        1,
      );
    };
    unary(f, spaced(rng(17), [2, 3], 0.37), 27, 0.05);
  });
  it('clipByValue, relu6, prelu, atan2, and the zero gradients of sign, round, floor, ceil (values away from kinks)', () => {
    const f = (t: T) => {
      const [a, b] = tf.split(t, 2, 1) as [T, T];
      const z = tf.add(tf.add(tf.sign(t), tf.round(t)), tf.add(tf.floor(t), tf.ceil(t)));
      return tf.concat([tf.clipByValue(t, -0.8, 0.8), tf.relu6(tf.mul(t, 4)), tf.prelu(t, tf.mul(tf.sum(t, 0, true), 0.5)),
        tf.atan2(a, tf.add(tf.abs(b), 0.5)), tf.mul(t, z)], 1);
    };
    // Every value at least 0.15 from each kink and jump (0, ±0.5, ±0.8, ±1, ±1.5; 6/4 for relu6).
    unary(f, tf.tensor2d([[-1.3, -0.65, -0.3, 0.2], [0.3, 0.7, 1.25, -0.2]]), 28, 0.01);
  });
  it('MirrorPad, reflect and symmetric (stock gradient drops the reflected copies)', () => {
    for (const mode of ['reflect', 'symmetric'] as const) {
      unary((t) => tf.sin(tf.mirrorPad(t as tf.Tensor3D, [[1, 2], [2, 1], [0, 0]], mode)), uni(rng(20), [3, 3, 2], -1.5, 1.5), 30);
    }
  });
  it('batchNorm without scale/offset (stock tfjs throws whenever a gradient is recorded), and with them', () => {
    const f = (t: T) => {
      const mean = tf.mean(t, 0);
      const variance = tf.add(tf.mean(tf.square(t), 0), 0.5);
      return tf.add(tf.batchNorm(t, mean, variance), tf.batchNorm(t, mean, variance, tf.sum(t, 0), tf.max(t, 0), 1e-3));
    };
    unary(f, spaced(rng(21), [3, 4], 0.23), 31);
  });
  it('Cumprod (no stock gradient; tf.prod uses it) and Cumsum, along each axis, exclusive and reversed', () => {
    const f = (t: T) =>
      tf.concat([tf.cumprod(t, 0), tf.cumprod(t, 1, true, false), tf.cumprod(t, 1, false, true), tf.cumsum(t, 0, true, true),
        tf.mul(tf.prod(t, 1, true), tf.ones([1, 3])), tf.mul(tf.prod(t), tf.ones([2, 3]))], 1);
    unary(f, uni(rng(22), [2, 3], 0.5, 1.5), 32);
  });
  it('LRN (stock gradient: LRNGrad on the saved output, no second order)', () => {
    for (const [r, bias, alpha, beta] of [[1, 1, 0.5, 0.75], [2, 1.5, 0.7, 0.6]] as const) {
      unary((t) => tf.localResponseNormalization(t as T4, r, bias, alpha, beta), uni(rng(23), [1, 2, 2, 5], -1.5, 1.5), 33);
    }
  });
  it('BatchMatMul with broadcast batches (x [B,T,D] @ W [D,H]; batch-1 operands): stock gradient has the wrong shape', () => {
    const r = rng(24);
    for (const [sa, sb, ta, tb] of [[[2, 3, 4], [4, 2], false, false], [[2, 1, 3, 4], [1, 3, 2, 4], false, true], [[4, 3], [2, 4, 2], true, false]] as const) {
      const a = uni(r, [...sa]);
      const b = uni(r, [...sb]);
      const mm = (x: T, y: T) => tf.tanh(tf.matMul(x, y, ta, tb));
      const shape = tf.tidy(() => mm(a, b).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params: [a, b], inner: ([x, y]) => w1(mm(x!, y!)), outer: ([x, y]) => w2(mm(x!, y!)) });
    }
  });
  it('Conv2D and DepthwiseConv2dNative with dilation > 1 (stock refuses their gradients): filter and input tailored', () => {
    const r = rng(25);
    for (const [pad, dil, depthwise] of [['same', 2, false], ['valid', [1, 2], false], ['same', 2, true], ['valid', [2, 1], true]] as const) {
      const x = uni(r, [1, 5, 6, 2]);
      const k = uni(r, [2, 3, 2, 2], -0.5, 0.5);
      const conv = (a: T, b: T) =>
        tf.tanh(depthwise ? tf.depthwiseConv2d(a as T4, b as T4, 1, pad, 'NHWC', dil as [number, number]) : tf.conv2d(a as T4, b as T4, 1, pad, 'NHWC', dil as [number, number]));
      const shape = tf.tidy(() => conv(x, k).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params: [x, k], inner: ([a, b]) => w1(conv(a!, b!)), outer: ([a, b]) => w2(conv(a!, b!)) });
    }
  });
  it('Einsum (no stock gradient), one and two inputs, with summed-away and scalar outputs', () => {
    const r = rng(26);
    const cases: Array<[string, number[], number[]?]> = [
      ['ij,jk->ik', [2, 3], [3, 4]], ['bij,bjk->bik', [2, 2, 3], [2, 3, 2]], ['ij,ij->i', [2, 3], [2, 3]],
      ['i,j->ij', [3], [2]], ['ij,k->ik', [2, 3], [2]], ['ij,ij->', [2, 3], [2, 3]], ['ij->ji', [2, 3]], ['ijk->j', [2, 3, 2]],
    ];
    for (const [eq, sa, sb] of cases) {
      const params = sb ? [uni(r, sa), uni(r, sb)] : [uni(r, sa)];
      const f = (ps: T[]) => tf.tanh(tf.einsum(eq, ...ps));
      const shape = tf.tidy(() => f(params).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params, inner: (ps) => w1(f(ps)), outer: (ps) => w2(f(ps)) });
    }
  });
  it('Conv3D backprops (no stock gradients): filter and input tailored, stride 1 same and stride 2 valid', () => {
    const r = rng(27);
    for (const [stride, pad] of [[1, 'same'], [2, 'valid']] as const) {
      const x = uni(r, [1, 3, 4, 5, 2]);
      const k = uni(r, [2, 2, 3, 2, 2], -0.5, 0.5);
      const conv = (a: T, b: T) => tf.tanh(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, stride, pad));
      const shape = tf.tidy(() => conv(x, k).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params: [x, k], inner: ([a, b]) => w1(conv(a!, b!)), outer: ([a, b]) => w2(conv(a!, b!)) });
    }
  });
  it('MaxPool3D and AvgPool3D (stock: no second order), valid and same, strides 1 and 2', () => {
    const r = rng(28);
    for (const [f, stride, pad] of [[2, 2, 'valid'], [2, 1, 'same'], [3, 2, 'same']] as const) {
      const x = spaced(r, [1, 3, 4, 5, 2], 0.05);
      const pool = (t: T) => tf.add(tf.maxPool3d(t as tf.Tensor5D, f, stride, pad), tf.avgPool3d(t as tf.Tensor5D, f, stride, pad));
      const shape = tf.tidy(() => pool(x).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params: [x], inner: ([v]) => w1(tf.square(pool(v!))), outer: ([v]) => w2(tf.tanh(pool(v!))), lr: 0.005 });
    }
  });
  it('DepthToSpace (pixel shuffle) and TopK (no stock gradients)', () => {
    unary((t) => tf.tanh(tf.depthToSpace(t as T4, 2)), uni(rng(29), [2, 2, 3, 8]), 34);
    unary((t) => tf.square(tf.topk(t, 3).values), spaced(rng(30), [2, 6], 0.37), 35);
  });
  it('Dilation2D (no stock second order): input and filter tailored, same/valid, stride or dilation 2', () => {
    const r = rng(31);
    for (const [s, d, pad] of [[1, 1, 'same'], [2, 1, 'valid'], [1, 2, 'same']] as const) {
      const x = spaced(r, [1, 5, 6, 2], 0.13);
      const k = spaced(r, [2, 3, 2], 0.07);
      const morph = (a: T, b: T) => tf.dilation2d(a as tf.Tensor4D, b as tf.Tensor3D, s, pad, d);
      const shape = tf.tidy(() => morph(x, k).shape);
      const w1 = weighted(r, shape);
      const w2 = weighted(r, shape);
      check({ params: [x, k], inner: ([a, b]) => w1(tf.square(morph(a!, b!))), outer: ([a, b]) => w2(tf.tanh(morph(a!, b!))), lr: 0.005 });
    }
  });
  it('stack/unstack (Pack, Unpack), squaredDifference and rsqrt (norm layers, rollouts, MSE)', () => {
    const f = (t: T) => {
      const [a, b, c] = tf.unstack(t, 1) as [T, T, T];
      const s = tf.stack([tf.squaredDifference(a, b), tf.rsqrt(tf.add(tf.square(c), 0.5))], 1);
      return tf.mul(s, tf.sum(t, 1, true));
    };
    unary(f, uni(rng(27), [2, 3, 2]), 28, 0.05);
  });
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      it(`Conv2DBackpropFilter (stride ${stride}, ${pad}): filter and input tailored`, () => {
        const r = rng(30 + stride * 2 + (pad === 'same' ? 1 : 0));
        const x = uni(r, [1, 5, 5, 2]);
        const k = uni(r, [3, 3, 2, 2], -0.5, 0.5);
        const conv = (a: T, b: T) => tf.tanh(tf.conv2d(a as T4, b as T4, stride, pad));
        const outShape = conv(x, k).shape;
        const w1 = weighted(r, outShape);
        const w2 = weighted(r, outShape);
        check({ params: [x, k], inner: ([a, b]) => w1(conv(a!, b!)), outer: ([a, b]) => w2(conv(a!, b!)) });
      });
      it(`MaxPool / MaxPoolGrad (stride ${stride}, ${pad})`, () => {
        const r = rng(40 + stride * 2 + (pad === 'same' ? 1 : 0));
        const pool = (t: T) => tf.maxPool(t as T4, 2, stride, pad);
        const x = spaced(r, [1, 4, 4, 2], 0.3);
        const s = pool(x).shape;
        const w1 = weighted(r, s);
        const w2 = weighted(r, s);
        check({ params: [x], inner: ([v]) => w1(tf.square(pool(v!))), outer: ([v]) => w2(tf.tanh(pool(v!))), lr: 0.05 });
      });
      it(`AvgPool / AvgPoolGrad (stride ${stride}, ${pad}, 3x3 windows)`, () => {
        const r = rng(50 + stride * 2 + (pad === 'same' ? 1 : 0));
        const pool = (t: T) => tf.avgPool(t as T4, 3, stride, pad);
        const x = uni(r, [1, 5, 5, 2]);
        const s = pool(x).shape;
        const w1 = weighted(r, s);
        const w2 = weighted(r, s);
        check({ params: [x], inner: ([v]) => w1(tf.square(pool(v!))), outer: ([v]) => w2(tf.tanh(pool(v!))) });
      });
    }
  }

  it('DepthwiseConv2dNative backprops (filter and input; on wasm core adds the input one)', () => {
    const r = rng(60);
    const x = uni(r, [1, 4, 4, 2]);
    const k = uni(r, [2, 2, 2, 1], -0.5, 0.5);
    const conv = (a: T, b: T) => tf.tanh(tf.depthwiseConv2d(a as T4, b as T4, 1, 'same'));
    const w1 = weighted(r, [1, 4, 4, 2]);
    const w2 = weighted(r, [1, 4, 4, 2]);
    check({ params: [x, k], inner: ([a, b]) => w1(conv(a!, b!)), outer: ([a, b]) => w2(conv(a!, b!)) });
  });

  for (const [alignCorners, halfPixelCenters] of [[false, false], [false, true], [true, false]] as const) {
    const mode = `alignCorners=${alignCorners}, halfPixelCenters=${halfPixelCenters}`;
    it(`ResizeBilinearGrad (${mode})`, () => {
      const r = rng(70);
      const x = uni(r, [1, 3, 3, 2]);
      const up = (t: T) => tf.tanh(tf.image.resizeBilinear(t as T4, [5, 4], alignCorners, halfPixelCenters));
      const w1 = weighted(r, [1, 5, 4, 2]);
      const w2 = weighted(r, [1, 5, 4, 2]);
      check({ params: [x], inner: ([v]) => w1(up(v!)), outer: ([v]) => w2(up(v!)) });
    });
    it(`ResizeBilinear / ResizeNearestNeighbor on non-square images (${mode})`, () => {
      // The cpu ResizeBilinearGrad kernel returns [n, w, h, c]: these failed with a shape error.
      const r = rng(72);
      const x = uni(r, [1, 3, 4, 2]);
      const f = (t: T) =>
        tf.tanh(tf.add(tf.image.resizeBilinear(t as T4, [5, 7], alignCorners, halfPixelCenters), tf.image.resizeNearestNeighbor(t as T4, [5, 7], alignCorners, halfPixelCenters)));
      const w1 = weighted(r, [1, 5, 7, 2]);
      const w2 = weighted(r, [1, 5, 7, 2]);
      check({ params: [x], inner: ([v]) => w1(f(v!)), outer: ([v]) => w2(f(v!)) });
    });
    it(`ResizeNearestNeighborGrad (${mode})`, () => {
      const r = rng(71);
      const x = uni(r, [1, 3, 3, 2]);
      const up = (t: T) => tf.tanh(tf.image.resizeNearestNeighbor(t as T4, [5, 4], alignCorners, halfPixelCenters));
      const w1 = weighted(r, [1, 5, 4, 2]);
      const w2 = weighted(r, [1, 5, 4, 2]);
      check({ params: [x], inner: ([v]) => w1(up(v!)), outer: ([v]) => w2(up(v!)) });
    });
  }
});
}

describe('checked-kernel table', () => {
  afterAll(() => used.clear());
  it("every kernel the table credits to 'fixes.test' was exercised here", () => {
    const credited = Object.entries(SECOND_ORDER_CHECKED)
      .filter(([, by]) => by.includes('fixes.test'))
      .map(([k]) => k);
    expect(credited.filter((k) => !used.has(k))).toEqual([]);
  });
  it('every kernel exercised here is in the table', () => {
    expect([...used].filter((k) => !(k in SECOND_ORDER_CHECKED)).sort()).toEqual([]);
  });
});

import { describe, it, expect } from 'vitest';
import { tf, nn, Rng, randomNormal } from '../../src/index.js';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(tol));
};

describe('conv2d / conv2dTranspose / dense', () => {
  it('conv2d matches a hand computation and has the documented shapes', () => {
    // 3×3 single-channel image, 2×2 kernel of ones, bias 0.5, 'valid': sums of 2×2 windows + 0.5.
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const p = { 'c/w': tf.ones([2, 2, 1, 1]), 'c/b': tf.tensor1d([0.5]) };
    close(arr(nn.conv2d(p, 'c', x, { pad: 'valid' })), [12.5, 16.5, 24.5, 28.5]);
    const q = nn.initConv2d(new Rng(1), 'c', 5, 6, 4);
    expect(q['c/w']!.shape).toEqual([5, 5, 6, 4]);
    expect(nn.conv2d(q, 'c', tf.zeros([2, 16, 16, 6])).shape).toEqual([2, 16, 16, 4]);
    expect(nn.conv2d(q, 'c', tf.zeros([2, 16, 16, 6]), { stride: 2 }).shape).toEqual([2, 8, 8, 4]);
    expect(nn.conv2d(q, 'c', tf.zeros([2, 16, 16, 6]), { pad: 'valid' }).shape).toEqual([2, 12, 12, 4]);
  });

  it('conv2dTranspose: 1×1 → k×k valid spreads the kernel; same/stride 2 doubles the size', () => {
    // A 1×1 input of value 2 through a 2×2 'valid' transposed conv gives 2·kernel (+ bias).
    const w = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
    const p = { 't/w': w, 't/b': tf.tensor1d([1]) };
    close(arr(nn.conv2dTranspose(p, 't', tf.tensor4d([2], [1, 1, 1, 1]), { pad: 'valid' })), [3, 5, 7, 9]);
    const q = nn.initConv2dTranspose(new Rng(2), 't', 4, 8, 3);
    expect(q['t/w']!.shape).toEqual([4, 4, 3, 8]);
    expect(nn.conv2dTranspose(q, 't', tf.zeros([2, 5, 5, 8]), { stride: 2, pad: 'same' }).shape).toEqual([2, 10, 10, 3]);
    expect(nn.conv2dTranspose(q, 't', tf.zeros([2, 1, 1, 8]), { pad: 'valid' }).shape).toEqual([2, 4, 4, 3]);
  });

  it('dense is x·W + b; init N(0, 0.02) has that spread and zero bias', () => {
    const p = { 'd/w': tf.tensor2d([1, 2, 3, 4], [2, 2]), 'd/b': tf.tensor1d([1, -1]) };
    close(arr(nn.dense(p, 'd', tf.tensor2d([1, 1], [1, 2]))), [5, 5]);
    const q = nn.initDense(new Rng(3), 'd', 100, 100);
    const m = tf.moments(q['d/w']!);
    expect(Math.abs(m.mean.dataSync()[0]!)).toBeLessThan(0.002);
    expect(Math.sqrt(m.variance.dataSync()[0]!)).toBeCloseTo(0.02, 3);
    expect(arr(q['d/b']!).every((v) => v === 0)).toBe(true);
    const u = nn.initDense(new Rng(3), 'd', 100, 10, { init: { kind: 'fanIn' } });
    expect(Math.max(...arr(u['d/w']!).map(Math.abs))).toBeLessThanOrEqual(0.1);
  });
});

describe('normalisation', () => {
  it('groupNorm1 normalises each example over H, W, C; batch norm over B, H, W per channel', () => {
    const x = randomNormal(new Rng(4), [3, 4, 4, 5], 2, 1);
    const g = nn.groupNorm1(x);
    const mg = tf.moments(g, [1, 2, 3]);
    close(arr(mg.mean), [0, 0, 0], 1e-5);
    close(arr(mg.variance), [1, 1, 1], 1e-3);
    const b = nn.batchNormTrain(x);
    const mb = tf.moments(b, [0, 1, 2]);
    close(arr(mb.mean), [0, 0, 0, 0, 0], 1e-5);
    close(arr(mb.variance), [1, 1, 1, 1, 1], 1e-3);
    // Hand check of one value: x = [1, 3] in one example → (±1)/√(1+eps)·scale + offset.
    const y = nn.groupNorm1(tf.tensor2d([1, 3], [1, 2]), tf.tensor1d([2, 3]), tf.tensor1d([0.5, 0]));
    close(arr(y), [-2 / Math.sqrt(1 + 1e-5) + 0.5, 3 / Math.sqrt(1 + 1e-5)]);
    // Against tf.batchNorm with the same statistics.
    const m = tf.moments(x, [0, 1, 2]);
    const sc = tf.tensor1d([1, 2, 3, 4, 5]);
    const of = tf.tensor1d([0, 1, 0, 1, 0]);
    close(arr(nn.batchNormTrain(x, sc, of)), arr(tf.batchNorm(x, m.mean, m.variance, of, sc, 1e-5)), 1e-4);
  });

  it('norm layers read scale/offset; init scale ~ N(1, 0.02)', () => {
    const p = nn.initNorm(new Rng(5), 'n', 400);
    const m = tf.moments(p['n/scale']!);
    expect(m.mean.dataSync()[0]!).toBeCloseTo(1, 2);
    expect(Math.sqrt(m.variance.dataSync()[0]!)).toBeCloseTo(0.02, 2);
    expect(() => nn.norm('group', {}, 'n', tf.zeros([1, 2]))).toThrow(/n\/scale/);
  });

  it('conditional norm applies per-example γ, β over channels; absent → identity', () => {
    const x = tf.ones([2, 1, 1, 2]);
    const y = nn.conditionalNorm(x, tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([0, 1, 0, -1], [2, 2]));
    close(arr(y), [1, 3, 3, 3]);
    const cn = nn.initConditionalNorm('cn/a', 2, 2);
    close(arr(nn.maybeConditionalNorm(cn, 'cn/a', x)), arr(x));
    expect(nn.maybeConditionalNorm({}, 'cn/a', x)).toBe(x);
    expect(() => nn.conditionalNorm(tf.ones([3, 1, 1, 2]), tf.ones([2, 2]), tf.ones([2, 2]))).toThrow(/batch and channels/);
  });
});

describe('pooling / upsampling', () => {
  it('maxPool2x2 equals tf.maxPool (even and odd sizes)', () => {
    for (const [h, w] of [[8, 6], [7, 5]] as const) {
      const x = randomNormal(new Rng(h), [2, h, w, 3]);
      expect(arr(nn.maxPool2x2(x))).toEqual(arr(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')));
      expect(nn.maxPool2x2(x).shape).toEqual([2, Math.floor(h / 2), Math.floor(w / 2), 3]);
    }
  });

  it('upsampleNearest2x equals tf.image.resizeNearestNeighbor', () => {
    const x = randomNormal(new Rng(6), [2, 3, 4, 2]);
    expect(arr(nn.upsampleNearest2x(x))).toEqual(arr(tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 8])));
  });

  it('both are differentiable to second order (d²/dx² of Σ f(x)³ matches its closed form)', () => {
    // For y = Σ pool(x)³ the Hessian-vector product with ones is 6·x at the max positions.
    const x = tf.tensor4d([1, 5, 2, 3, -1, 0, 4, -2], [1, 2, 4, 1]);
    const gg = tf.grad((v: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.pow(nn.maxPool2x2(u), 3)))(v)))(x);
    close(arr(gg), [0, 30, 0, 0, 0, 0, 24, 0]);
    const up = tf.grad((v: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.pow(nn.upsampleNearest2x(u), 3)))(v)))(x);
    close(arr(up), arr(x).map((v) => 4 * 6 * v));
  });
});

describe('LSTM', () => {
  it('a cell matches a hand computation', () => {
    // in = H = 1: gates = x·wx + h·wh + b.
    const p = { 'c/wx': tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]), 'c/wh': tf.tensor2d([[0.5, 0.6, 0.7, 0.8]]), 'c/b': tf.tensor1d([0, 1, 0, 0]) };
    const x = 1, h = 0.5, c = 2;
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const gi = 0.1 * x + 0.5 * h, gf = 0.2 * x + 0.6 * h + 1, gg = 0.3 * x + 0.7 * h, go = 0.4 * x + 0.8 * h;
    const c2 = s(gf) * c + s(gi) * Math.tanh(gg);
    const r = nn.lstmCell(p, 'c', tf.tensor2d([[x]]), tf.tensor2d([[h]]), tf.tensor2d([[c]]));
    close(arr(r.c), [c2]);
    close(arr(r.h), [s(go) * Math.tanh(c2)]);
  });

  it('forget-gate bias starts at 1, the others at 0; multi-layer shapes', () => {
    const p = nn.initLstm(new Rng(7), { inDim: 5, hidden: 3, outDim: 2, layers: 2, outAct: 'tanh' });
    expect(arr(p['l1/b']!)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    const spec = { inDim: 5, hidden: 3, outDim: 2, layers: 2, outAct: 'tanh' as const };
    const r = nn.lstm(spec, p, tf.ones([4, 5]), nn.lstmZeroState(2, 3, 4));
    expect(r.y.shape).toEqual([4, 2]);
    expect(r.state.h.map((t) => t.shape)).toEqual([[4, 3], [4, 3]]);
    const flat = nn.lstmStateToParams('fp', r.state);
    expect(Object.keys(flat).sort()).toEqual(['fp/c0', 'fp/c1', 'fp/h0', 'fp/h1']);
    expect(nn.lstmStateFromParams('fp', flat, 2).c[1]).toBe(r.state.c[1]);
  });

  it('Gaussian LSTM: z = μ + ε·exp(½ logvar); KL of equal Gaussians is 0 and matches the formula', () => {
    const spec = { inDim: 3, hidden: 4, zDim: 2, layers: 1 };
    const p = nn.initGaussianLstm(new Rng(8), spec, { init: { kind: 'normal', std: 0.5 } });
    const eps = tf.tensor2d([[1, -1], [0.5, 2]]);
    const r = nn.gaussianLstm(spec, p, tf.ones([2, 3]), nn.lstmZeroState(1, 4, 2), eps);
    const want = arr(r.mu).map((m, i) => m + arr(eps)[i]! * Math.exp(0.5 * arr(r.logvar)[i]!));
    close(arr(r.z), want);
    close(arr(nn.gaussianKl(r.mu, r.logvar, r.mu, r.logvar)), [0, 0]);
    // KL(N(0,1) ‖ N(1, e²)) = 1 + (1 + 1)/(2e²) − ½ per dim.
    const kl = nn.gaussianKl(tf.zeros([1, 1]), tf.zeros([1, 1]), tf.ones([1, 1]), tf.fill([1, 1], 2));
    close(arr(kl), [1 + 2 / (2 * Math.exp(2)) - 0.5]);
  });
});

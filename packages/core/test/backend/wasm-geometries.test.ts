// Conv, pooling and morphology kernels over random geometries (sizes, filters, strides, padding,
// dilation): wasm (with core's kernels) must agree with cpu, forward and gradients. This sweep is
// what found the wasm bugs core works around ('same' padding that pads nothing, MaxPool3D's
// FLT_MIN, Dilation2D, the Conv3D backprops).
import { it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';
import { Rng } from '../../src/rng.js';
type T = tf.Tensor;
const r = new Rng(123);
const pick = <X,>(xs: readonly X[]) => xs[Math.floor(r.uniformArray(1, 0, 0.9999)[0]! * xs.length)]!;
const cases: Array<[string, () => T]> = [];
const u = (seed: number, shape: number[]) => tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
type Geometry = [h: number, w: number, c: number, f: number, s: number, pad: 'same' | 'valid', d: number];
// The geometries that exposed wasm bugs, then random ones.
const fixed: Geometry[] = [[4, 6, 3, 2, 3, 'same', 1], [6, 4, 2, 2, 3, 'same', 1], [5, 6, 2, 2, 1, 'same', 1], [5, 6, 3, 2, 2, 'valid', 1]];
const random = Array.from({ length: 40 }, (): Geometry => [pick([3, 4, 5, 6, 7, 8]), pick([3, 4, 5, 6, 7, 9]), pick([1, 2, 3]), pick([1, 2, 3, 4]), pick([1, 2, 3]), pick(['same', 'valid'] as const), pick([1, 1, 2])]);
for (const [i, [h, w, c, f, s, pad, d]] of [...fixed, ...random].entries()) {
  const tag = `h${h} w${w} c${c} f${f} s${s} ${pad} d${d}`;
  if ((pad === 'valid' && (f > h || f > w)) || (f - 1) * d + 1 > Math.min(h, w)) continue;
  cases.push([`maxPool ${tag}`, () => tf.maxPool(u(i, [2, h, w, c]) as tf.Tensor4D, f, s, pad)]);
  cases.push([`avgPool ${tag}`, () => tf.avgPool(u(i, [2, h, w, c]) as tf.Tensor4D, f, s, pad)]);
  cases.push([`maxPoolGrad ${tag}`, () => tf.grad((x: T) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, f, s, pad), 1.7)))(u(i, [2, h, w, c]))]);
  cases.push([`avgPoolGrad ${tag}`, () => tf.grad((x: T) => tf.sum(tf.square(tf.avgPool(x as tf.Tensor4D, f, s, pad))))(u(i, [2, h, w, c]))]);
  const ss = d > 1 ? 1 : s;
  cases.push([`conv2d ${tag}`, () => tf.conv2d(u(i, [2, h, w, c]) as tf.Tensor4D, u(i + 1, [f, f + 1 > w ? f : f, c, 2]) as tf.Tensor4D, ss, pad, 'NHWC', d)]);
  cases.push([`conv2dGrads ${tag}`, () => { const g = tf.grads((x: T, k: T) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, ss, pad, 'NHWC', d))))([u(i, [2, h, w, c]), u(i + 1, [f, f, c, 2])]); return tf.concat([tf.reshape(g[0]!, [-1]), tf.reshape(g[1]!, [-1])]); }]);
  cases.push([`depthwise ${tag}`, () => tf.depthwiseConv2d(u(i, [2, h, w, c]) as tf.Tensor4D, u(i + 1, [f, f, c, 2]) as tf.Tensor4D, ss, pad, 'NHWC', d)]);
  cases.push([`depthwiseGrads ${tag}`, () => { const g = tf.grads((x: T, k: T) => tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, k as tf.Tensor4D, ss, pad, 'NHWC', d))))([u(i, [2, h, w, c]), u(i + 1, [f, f, c, 2])]); return tf.concat([tf.reshape(g[0]!, [-1]), tf.reshape(g[1]!, [-1])]); }]);
  cases.push([`dilation2d ${tag}`, () => tf.dilation2d(u(i, [2, h, w, c]) as tf.Tensor4D, u(i + 1, [f, f, c]) as tf.Tensor3D, ss, pad, d)]);
  cases.push([`convT ${tag}`, () => tf.conv2dTranspose(u(i, [2, h, w, 2]) as tf.Tensor4D, u(i + 1, [f, f, c, 2]) as tf.Tensor4D, [2, pad === 'same' ? h * s : (h - 1) * s + f, pad === 'same' ? w * s : (w - 1) * s + f, c], s, pad)]);
  const dd = pick([2, 3, 4]);
  if (!(pad === 'valid' && f > dd)) {
    cases.push([`maxPool3d ${tag} d${dd}`, () => tf.maxPool3d(u(i, [1, dd, h, w, c]) as tf.Tensor5D, f, s, pad)]);
    cases.push([`avgPool3d ${tag} d${dd}`, () => tf.avgPool3d(u(i, [1, dd, h, w, c]) as tf.Tensor5D, f, s, pad)]);
    cases.push([`conv3dGrads ${tag} d${dd}`, () => { const g = tf.grads((x: T, k: T) => tf.sum(tf.square(tf.conv3d(x as tf.Tensor5D, k as tf.Tensor5D, s, pad))))([u(i, [1, dd, h, w, c]), u(i + 1, [Math.min(f, dd), f, f, c, 2])]); return tf.concat([tf.reshape(g[0]!, [-1]), tf.reshape(g[1]!, [-1])]); }]);
  }
}
it('wasm agrees with cpu on random conv / pool / dilation geometries', async () => {
  const res: Record<string, Array<number[] | string>> = { cpu: [], wasm: [] };
  for (const bk of ['cpu', 'wasm'] as const) {
    await selectBackend({ backend: bk, quiet: true });
    for (const [, f] of cases) { try { res[bk]!.push(tf.tidy(() => { const y = f(); return [...y.shape, -999, ...Array.from(y.dataSync())]; })); } catch (e) { res[bk]!.push('ERR ' + (e as Error).message.slice(0, 90)); } }
  }
  const bad: string[] = [];
  cases.forEach(([name], i) => {
    const c = res['cpu']![i]!, w = res['wasm']![i]!;
    if (typeof c === 'string' || typeof w === 'string') {
      if (c !== w) bad.push(`${name}: cpu ${typeof c === 'string' ? c : 'ok'}, wasm ${typeof w === 'string' ? w : 'ok'}`);
      return;
    }
    const sc = Math.max(1e-6, ...c.map(Math.abs));
    const e = c.length === w.length ? Math.max(0, ...c.map((v, j) => Math.abs(v - w[j]!) / sc)) : Infinity;
    if (!(e < 1e-5)) bad.push(`${name}: max difference ${e.toExponential(1)} of the largest value`);
  });
  expect(cases.length).toBeGreaterThan(150);
  expect(bad).toEqual([]);
}, 600000);

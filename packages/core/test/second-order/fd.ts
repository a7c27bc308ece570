// Finite-difference checks of meta-gradients: F(θ) = outer(θ − lr·∇inner(θ)), differentiated by
// tfjs (tf.grads through tf.grads) and by central differences.
import { expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng } from '../../src/rng.js';

type T = tf.Tensor;

export const rng = (seed: number) => new Rng(seed);

/** A float32 tensor of uniform values. */
export function uni(r: Rng, shape: number[], lo = -1, hi = 1): T {
  return tf.tensor(r.uniformArray(shape.reduce((a, b) => a * b, 1), lo, hi), shape);
}

/** Distinct values spaced by `gap`, none near 0 (shuffled): keeps max/argmax choices and the
 * kinks of relu-like ops at least gap/2 away from every input. */
export function spaced(r: Rng, shape: number[], gap = 0.3): T {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = r.permutation(n);
  return tf.tensor(p.map((i) => (i - n / 2 + 0.5) * gap), shape);
}

export interface MetaProblem {
  params: T[];
  inner: (ps: T[]) => T;
  outer: (ps: T[]) => T;
  lr?: number;
}

/** F(θ) = outer(θ − lr ∇θ inner(θ)). */
function metaLoss(p: MetaProblem, ps: T[]): T {
  const g = tf.grads((...q: T[]) => p.inner(q) as tf.Scalar)(ps);
  const lr = p.lr ?? 0.1;
  return p.outer(ps.map((t, i) => tf.sub(t, tf.mul(lr, g[i]!))));
}

/** The meta-gradient from tfjs and by Richardson-extrapolated central differences. */
export function metaGradients(p: MetaProblem, h = 1e-2): { got: Float32Array[]; fd: number[][]; value: number } {
  return tf.tidy(() => {
    const got = tf.grads((...ps: T[]) => metaLoss(p, ps) as tf.Scalar)(p.params).map((g) => g.dataSync() as Float32Array);
    const base = p.params.map((t) => t.dataSync().slice() as Float32Array);
    const value = tf.tidy(() => metaLoss(p, p.params).dataSync()[0]!);
    const evalAt = (k: number, i: number, d: number) =>
      tf.tidy(() => {
        const v = base[k]!.slice();
        v[i] = v[i]! + d;
        const ps = p.params.map((t, j) => (j === k ? tf.tensor(v, t.shape) : t));
        return metaLoss(p, ps).dataSync()[0]!;
      });
    const fd = base.map((b, k) =>
      Array.from(b, (_, i) => {
        const d1 = (evalAt(k, i, h) - evalAt(k, i, -h)) / (2 * h);
        const d2 = (evalAt(k, i, 2 * h) - evalAt(k, i, -2 * h)) / (4 * h);
        return (4 * d1 - d2) / 3;
      }),
    );
    return { got, fd, value };
  });
}

/**
 * Tolerance: F is evaluated in float32, so each difference carries about |F|·1.2e-7/h ≈ 1e-5·|F|
 * of rounding error (h = 1e-2, Richardson multiplies it by ~1.5), and the O(h^4) truncation error
 * is ~1e-8 for these O(1)-curvature functions. rtol 1e-3 and atol 1e-4·(1+|F|) leave a 10x margin
 * over that, while a dropped second-order term (the bugs fixed here) is an O(10%) error.
 */
export function expectMetaGradientsMatch(p: MetaProblem): void {
  const before = tf.memory().numTensors;
  const { got, fd, value } = metaGradients(p);
  const atol = 1e-4 * (1 + Math.abs(value));
  const bad: string[] = [];
  fd.forEach((f, k) =>
    f.forEach((want, i) => {
      const g = got[k]![i]!;
      if (!(Math.abs(g - want) <= 1e-3 * Math.abs(want) + atol)) bad.push(`param ${k}[${i}]: tfjs ${g}, finite differences ${want}`);
    }),
  );
  expect(bad).toEqual([]);
  // The check is meaningful only if the meta-gradient is not trivially zero.
  expect(Math.max(...fd.flat().map(Math.abs))).toBeGreaterThan(1e-3);
  expect(tf.memory().numTensors).toBe(before);
}

/** sum(w ⊙ t) with fixed random weights, so no symmetry cancels second-order terms. */
export function weighted(r: Rng, shape: number[]): (t: T) => T {
  const w = uni(r, shape);
  return (t: T) => tf.sum(tf.mul(w, t));
}

import { it, expect } from 'vitest';
import { tf, GradientInnerOptimizer } from '../../src/index.js';
// Latent tailoring adapts variables computed from θ (not leaves); the outer gradient must
// flow both through the update and through their construction.
it('second order through a tailored variable derived from θ matches finite differences', () => {
  const x = tf.tensor2d([[0.3, -0.7], [0.5, 0.2]]);
  const w = tf.tensor2d([[0.4, -0.2], [0.1, 0.9]]);
  const outer = (th: tf.Tensor) => {
    const h0 = tf.tanh(tf.matMul(x, th as tf.Tensor2D));
    const inner = new GradientInnerOptimizer({ steps: 1, lr: 0.5 });
    const loss = (v: Record<string, tf.Tensor>) => tf.sum(tf.square(tf.sigmoid(tf.matMul(v.h!, w as tf.Tensor2D)))) as tf.Scalar;
    const r = inner.minimize(loss, { h: h0 }, { differentiable: true });
    return tf.sum(tf.square(tf.sub(tf.tanh(tf.matMul(r.vars.h!, th as tf.Tensor2D)), 0.3))) as tf.Scalar;
  };
  const th = tf.tensor2d([[0.2, 0.5], [-0.3, 0.8]]);
  const g = tf.grad(outer)(th).dataSync();
  const base = th.dataSync();
  const fd: number[] = [];
  for (let i = 0; i < 4; i++) {
    const e = 1e-2;
    const p = Float32Array.from(base); p[i] += e;
    const m = Float32Array.from(base); m[i] -= e;
    fd.push((outer(tf.tensor2d(p, [2, 2])).dataSync()[0]! - outer(tf.tensor2d(m, [2, 2])).dataSync()[0]!) / (2 * e));
  }
  for (let i = 0; i < 4; i++) expect(Math.abs(g[i]! - fd[i]!)).toBeLessThan(2e-3 * (1 + Math.abs(fd[i]!)));
});

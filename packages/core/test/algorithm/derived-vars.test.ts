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

// Tailored variables that are not independent tensors on the tape: here c is an input of the op
// that made h (as an LSTM's h = o·tanh(c)). tfjs' tape filter counts every recorded consumer of an
// x, so without care the inner gradient w.r.t. c picks up ∂L/∂h·∂h/∂c — but only under an outer
// gradient scope: meta-training would then tailor differently than prediction does.
it('the inner gradient treats tailored variables as independent, inside an outer gradient scope too', () => {
  const x = tf.tensor2d([[0.3, -0.7], [0.5, 0.2]]);
  const w = tf.tensor2d([[0.4, -0.2], [0.1, 0.9]]);
  const outer = (th: tf.Tensor) => {
    const c0 = tf.matMul(x, th as tf.Tensor2D);
    const h0 = tf.mul(tf.sigmoid(tf.matMul(x, tf.transpose(th) as tf.Tensor2D)), tf.tanh(c0));
    const inner = new GradientInnerOptimizer({ steps: 1, lr: 0.5 });
    const loss = (v: Record<string, tf.Tensor>) =>
      tf.sum(tf.square(tf.sigmoid(tf.add(tf.matMul(v.h!, w as tf.Tensor2D), tf.mul(v.c!, 2))))) as tf.Scalar;
    const r = inner.minimize(loss, { h: h0, c: c0 }, { differentiable: true });
    return tf.add(tf.sum(tf.square(tf.sub(tf.tanh(tf.matMul(r.vars.h!, th as tf.Tensor2D)), 0.3))), tf.sum(tf.square(r.vars.c!))) as tf.Scalar;
  };
  const th = tf.tensor2d([[0.2, 0.5], [-0.3, 0.8]]);
  const { value, grad } = tf.valueAndGrad(outer)(th);
  // Same function with and without a tape: the value is identical.
  expect(value.dataSync()[0]).toBe(outer(th).dataSync()[0]);
  const g = grad.dataSync();
  const base = th.dataSync();
  for (let i = 0; i < 4; i++) {
    const e = 1e-2;
    const p = Float32Array.from(base); p[i] += e;
    const m = Float32Array.from(base); m[i] -= e;
    const fd = (outer(tf.tensor2d(p, [2, 2])).dataSync()[0]! - outer(tf.tensor2d(m, [2, 2])).dataSync()[0]!) / (2 * e);
    expect(Math.abs(g[i]! - fd), `θ[${i}]: tfjs ${g[i]}, fd ${fd}`).toBeLessThan(2e-3 * (1 + Math.abs(fd)));
  }
});

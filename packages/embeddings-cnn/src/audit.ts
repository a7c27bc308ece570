// Tiny instances with one second-order meta-step closure each, for the lead's kernel audit
// (core's auditSecondOrder traces the kernels such a closure dispatches).
import { tf, Rng, randomNormal, noetherLoss, type NoetherForm } from '@noether/core';
import { CnnEmbedding } from './embedding.js';

/** Each case differentiates through one SGD step on the Noether loss of a 2-step "rollout" whose
 * frames are x0 + a·d (a the tailored variable), w.r.t. φ and a — every kernel of the embedding
 * at second order. */
export function auditCases(): { name: string; run: () => void }[] {
  return (['2a', '2b'] as NoetherForm[]).map((form) => ({
    name: `embeddings-cnn/cnn/8x8-form-${form}`,
    run: () => tf.tidy(() => {
      const emb = new CnnEmbedding({ dim: 4, height: 8, width: 8, channels: 3, filters: [2, 3] });
      const phi = emb.init(1);
      const rng = new Rng(2);
      const ctx = [randomNormal(rng, [2, 8, 8, 3]), randomNormal(rng, [2, 8, 8, 3])];
      const d = randomNormal(rng, [2, 8, 8, 3]);
      const names = Object.keys(phi);
      const meta = (...ts: tf.Tensor[]) => {
        const ph = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
        const a = ts[names.length]!;
        const inner = (v: tf.Tensor) => noetherLoss(emb, ph, ctx, [tf.add(ctx[1]!, tf.mul(v, d)), tf.add(ctx[1]!, tf.mul(tf.mul(v, 2), d))], form);
        const g = tf.grad(inner)(a);
        const a1 = tf.sub(a, tf.mul(g, 0.1));
        return tf.sum(tf.square(tf.sub(tf.add(ctx[1]!, tf.mul(a1, d)), ctx[0]!))) as tf.Scalar;
      };
      tf.grads(meta)([...names.map((n) => phi[n]!), tf.scalar(0.3)]);
    }),
  }));
}

// Adam as a pure function of tensors, used both by the outer loop and, kept
// differentiable, by the inner (tailoring) loop: one implementation for both.
import { tf } from '../tf.js';
import type { Params } from '../params.js';

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay (AdamW-style) applied as lr·wd·θ; 0 for plain Adam. */
  weightDecay?: number;
  /** The step will be differentiated (tailoring while meta-training): see safeSqrt. */
  differentiable?: boolean;
}

export interface AdamState {
  step: number;
  m: Params;
  v: Params;
}

export function adamInit(params: Params): AdamState {
  const m: Params = {};
  const v: Params = {};
  for (const [k, t] of Object.entries(params)) {
    m[k] = tf.zerosLike(t);
    v[k] = tf.zerosLike(t);
  }
  return { step: 0, m, v };
}

/** One Adam step. Returns new params and state; disposes nothing (callers own the old ones). */
export function adamStep(params: Params, grads: Params, state: AdamState, h: AdamHyper): { params: Params; state: AdamState } {
  const step = state.step + 1;
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  const out: Params = {};
  const m: Params = {};
  const v: Params = {};
  for (const [k, p] of Object.entries(params)) {
    const g = grads[k];
    if (!g) {
      out[k] = p;
      m[k] = state.m[k]!;
      v[k] = state.v[k]!;
      continue;
    }
    m[k] = tf.add(tf.mul(state.m[k]!, h.beta1), tf.mul(g, 1 - h.beta1));
    v[k] = tf.add(tf.mul(state.v[k]!, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const mhat = tf.div(m[k]!, bc1);
    const vhat = tf.div(v[k]!, bc2);
    let upd = tf.div(mhat, tf.add(h.differentiable ? safeSqrt(vhat) : tf.sqrt(vhat), h.epsilon));
    if (h.weightDecay) upd = tf.add(upd, tf.mul(p, h.weightDecay));
    out[k] = tf.sub(p, tf.mul(upd, h.lr));
  }
  return { params: out, state: { step, m, v } };
}

/**
 * √v with a finite derivative at v = 0. A weight whose gradient is exactly 0 (one the loss never
 * reads: an HNN uses only its field's output 0) has v = 0, where d√v/dv = ∞; differentiating the
 * step multiplies that by dv = 2g·dg = 0 and gives NaN, so meta-training through an Adam inner
 * step stopped at step 1. Here the value is √v exactly, and the derivative is 0 where v = 0 (the
 * step there is 0 whatever v does to first order, as dv = 0).
 */
function safeSqrt(v: tf.Tensor): tf.Tensor {
  const zero = tf.cast(tf.equal(v, 0), v.dtype);
  return tf.mul(tf.sqrt(tf.add(v, zero)), tf.sub(1, zero));
}

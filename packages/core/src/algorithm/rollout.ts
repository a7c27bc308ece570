import { tf } from '../tf.js';
import type { Predictor, State, StepInput } from '../contracts.js';
import { tidy, type Params } from '../params.js';

export interface RolloutResult {
  /** x̃_1..x̃_T, each [B, ...obsShape]. */
  preds: tf.Tensor[];
  /** Sum of the model's per-step auxiliary losses (0 when it has none). */
  aux: tf.Scalar;
}

/** Rolls the predictor out for inputs.length steps from state0. Pure: returns new tensors, which the
 * caller owns; what the steps make on the way (latent states, layer activations) is freed. */
export function rollout(predictor: Predictor, params: Params, state0: State, inputs: StepInput[]): RolloutResult {
  return tidy(() => {
    const preds: tf.Tensor[] = [];
    const aux: tf.Scalar[] = [];
    let s = state0;
    for (const input of inputs) {
      s = predictor.step(params, s, input);
      preds.push(s.obs);
      if (s.aux) aux.push(s.aux);
    }
    return { preds, aux: aux.length ? (tf.addN(aux) as tf.Scalar) : tf.scalar(0) };
  });
}

/** Splits a [B, T, ...] tensor into T tensors [B, ...]. */
export function unstackTime(x: tf.Tensor): tf.Tensor[] {
  return tf.unstack(x, 1);
}

// The persistence reference: predict that the last context observation stays as it is. A video
// model that does not beat it has not learned the motion, whatever the tailoring does on top.
import { tf } from '../tf.js';
import type { Predictor } from '../contracts.js';

/** A parameter-free predictor that repeats its last context observation at every step. */
export function persistencePredictor(contextLength = 1): Predictor {
  return {
    name: 'persistence',
    tailor: 'all',
    tailorModes: ['all'],
    contextLength,
    init: () => ({}),
    initState: (_p, context) => ({ obs: tf.squeeze(tf.slice(context, [0, context.shape[1]! - 1], [-1, 1]), [1]) }),
    // A copy, not the same tensor: a rollout may dispose the previous state's observation.
    step: (_p, state) => ({ obs: tf.clone(state.obs) }),
  };
}

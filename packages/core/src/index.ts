// @noether/core — contracts, the Noether loss, tailoring and meta-training.
// Where to look: the Noether loss is algorithm/noether-loss.ts; tailoring is
// algorithm/tailor.ts (predictSequence); meta-training is algorithm/meta.ts.
export { tf } from './tf.js';
export type { Tensor, Scalar } from './tf.js';
export * from './contracts.js';
export * from './params.js';
export * from './rng.js';
export * from './di.js';
export * as nn from './nn/index.js';
export * from './algorithm/noether-loss.js';
export * from './algorithm/rollout.js';
export * from './algorithm/adam.js';
export * from './algorithm/inner.js';
export * from './algorithm/tailor.js';
export * from './algorithm/batch.js';
export * from './algorithm/meta.js';
export * from './algorithm/train.js';
export * from './algorithm/interrupt.js';
export * from './algorithm/stats.js';
export * from './algorithm/persistence.js';
export * from './algorithm/audit-case.js';
export * from './algorithm/no-peeking.js';
export * from './data/array-dataset.js';
export const version = '0.1.0';
export * from './viz/index.js';
export * from './config.js';
export * from './checkpoint.js';
export * from './experiment.js';
export * from './second-order/index.js';
export * from './backend/index.js';
export * as examples from './examples/oscillator.js';

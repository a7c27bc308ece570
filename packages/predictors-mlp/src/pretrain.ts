// Pre-training a vector-field predictor on (x, dx/dt) pairs, as the HNN code trains its models:
// Adam, full batch, MSE between the predicted field and the targets, torch-style (coupled) L2
// weight decay, i.e. wd·θ added to the gradient before the Adam moments.
import { tf, adamInit, adamStep, disposeParams, valueAndGradsOrZero, type AdamState, type Params } from '@noether/core';
import type { VectorFieldPredictor } from './vector-field.js';

export interface PretrainOptions {
  /** Full-batch Adam steps (HNN: 2000). */
  steps: number;
  /** Adam learning rate (HNN: 1e-3). */
  lr: number;
  /** L2 weight decay added to the gradient (HNN: 1e-4; real pendulum 1e-5). */
  weightDecay: number;
  /** Called every `progressEvery` steps and after the last one. */
  onProgress?: (p: { step: number; steps: number; loss: number }) => void;
  progressEvery?: number;
}

export const DEFAULT_PRETRAIN: Omit<PretrainOptions, 'onProgress'> = { steps: 2000, lr: 1e-3, weightDecay: 1e-4 };

export interface FieldData {
  /** States [N, D]. */
  x: tf.Tensor;
  /** Their time derivatives [N, D]. */
  dxdt: tf.Tensor;
}

/** MSE of the predictor's field against dx/dt targets. */
export function fieldLoss(predictor: VectorFieldPredictor, params: Params, data: FieldData): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(predictor.field(params, data.x), data.dxdt)) as tf.Scalar);
}

export interface PretrainResult {
  params: Params;
  /** Loss before each step (steps entries) and after the last one (one more). */
  losses: number[];
}

/** Trains from `params` (not disposed; the result holds new tensors). */
export function pretrain(predictor: VectorFieldPredictor, params: Params, data: FieldData, o: Partial<PretrainOptions> = {}): PretrainResult {
  const opts = { ...DEFAULT_PRETRAIN, ...o };
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new Error(`pretrain steps must be a non-negative integer, got ${opts.steps}`);
  if (!(opts.lr > 0)) throw new Error(`pretrain lr must be positive, got ${opts.lr}`);
  if (!(opts.weightDecay >= 0)) throw new Error(`pretrain weightDecay must be ≥ 0, got ${opts.weightDecay}`);
  if (data.x.shape[0] !== data.dxdt.shape[0] || data.x.shape[1] !== data.dxdt.shape[1]) {
    throw new Error(`pretrain data: x is [${data.x.shape}] but dxdt is [${data.dxdt.shape}]; they must match`);
  }
  const names = Object.keys(params);
  let cur: Params = {};
  for (const n of names) cur[n] = params[n]!.clone();
  let adam: AdamState = adamInit(cur);
  const losses: number[] = [];
  const every = opts.progressEvery ?? 100;
  // The iterates are ours: a step, a divergence or onProgress (e.g. the caller stopping) that throws
  // must not leave them behind.
  try {
    for (let s = 0; s < opts.steps; s++) {
      const next = tf.tidy(() => {
        const f = (...ts: tf.Tensor[]) => {
          const p: Params = {};
          names.forEach((n, i) => (p[n] = ts[i]!));
          return fieldLoss(predictor, p, data);
        };
        const { value, grads } = valueAndGradsOrZero(f, names.map((n) => cur[n]!));
        const g: Params = {};
        names.forEach((n, i) => (g[n] = opts.weightDecay ? tf.add(grads[i]!, tf.mul(cur[n]!, opts.weightDecay)) : grads[i]!));
        const r = adamStep(cur, g, adam, { lr: opts.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
        return { value, params: r.params, m: r.state.m, v: r.state.v };
      });
      const loss = next.value.dataSync()[0]!;
      next.value.dispose();
      disposeParams(cur, adam.m, adam.v);
      cur = next.params;
      adam = { step: adam.step + 1, m: next.m, v: next.v };
      losses.push(loss);
      if (!Number.isFinite(loss)) {
        throw new Error(`pretraining diverged at step ${s + 1} (loss ${loss}): lower the learning rate`);
      }
      if (opts.onProgress && ((s + 1) % every === 0 || s + 1 === opts.steps)) opts.onProgress({ step: s + 1, steps: opts.steps, loss });
    }
  } catch (e) {
    disposeParams(cur, adam.m, adam.v);
    throw e;
  }
  const final = fieldLoss(predictor, cur, data);
  losses.push(final.dataSync()[0]!);
  final.dispose();
  disposeParams(adam.m, adam.v);
  return { params: cur, losses };
}

// Turns a dataset batch [B, T, ...] into a context window and per-step inputs.
import { tf } from '../tf.js';
import type { Batch, Predictor, StepInput } from '../contracts.js';
import { Rng, randomNormal } from '../rng.js';
import type { SequenceInput } from './tailor.js';

export interface Window {
  seq: SequenceInput;
  /** Ground truth x_C..x_{C+H-1}, one [B, ...] per predicted step. */
  targets: tf.Tensor[];
}

export interface WindowOptions {
  contextLength: number;
  /** Steps to predict (default: the rest of the sequence). */
  horizon?: number;
  /** Give the ground truth of each step to the predictor (teacher forcing, training only). */
  teacherForcing?: boolean;
  /** Seed for per-step noise of stochastic predictors; the same noise serves the untailored
   * and tailored rollouts, so they differ only by tailoring. */
  noiseSeed?: number;
}

/** Splits a batch into context and targets. Call inside tf.tidy: the tensors are new. */
export function makeWindow(predictor: Predictor, batch: Batch, o: WindowOptions): Window {
  const [B, T] = batch.obs.shape as [number, number];
  const C = o.contextLength;
  const H = o.horizon ?? T - C;
  if (C < 1 || H < 1 || C + H > T) {
    throw new Error(`a window of ${C} context + ${H} predicted steps does not fit sequences of length ${T}`);
  }
  const frames = tf.unstack(batch.obs, 1);
  const actions = batch.actions ? tf.unstack(batch.actions, 1) : undefined;
  const rng = o.noiseSeed === undefined ? undefined : new Rng(o.noiseSeed);
  const inputs: StepInput[] = [];
  const targets: tf.Tensor[] = [];
  for (let t = 1; t <= H; t++) {
    const idx = C - 1 + t;
    const input: StepInput = { t };
    if (actions) input.action = actions[idx];
    if (o.teacherForcing) input.target = frames[idx];
    if (predictor.noiseShape) {
      if (!rng) throw new Error(`predictor '${predictor.name}' is stochastic: give a noiseSeed`);
      input.noise = randomNormal(rng, predictor.noiseShape(B));
    }
    inputs.push(input);
    targets.push(frames[idx]!);
  }
  const context = tf.stack(frames.slice(0, C), 1);
  const seq: SequenceInput = { context, inputs };
  if (batch.actions) seq.actions = batch.actions;
  return { seq, targets };
}

/** Σ_t mean((x̃_t − x_t)²): the default task loss (and the golden reference's outer loss). */
/** Frees a batch's tensors (obs, and actions when there are any): the consumer of dataset.batches owns them. */
export function disposeBatch(batch: Batch): void {
  batch.obs.dispose();
  batch.actions?.dispose();
}

export function mseTaskLoss(preds: tf.Tensor[], targets: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.addN(preds.map((p, i) => tf.mean(tf.squaredDifference(p, targets[i]!)))) as tf.Scalar);
}

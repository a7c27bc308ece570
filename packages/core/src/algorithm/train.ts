// The outer training loop and evaluation, over any Dataset.
import { tf } from '../tf.js';
import { tidy, type Params } from '../params.js';
import type { Batch, Dataset, Metric } from '../contracts.js';
import { deriveSeed } from '../rng.js';
import { disposeBatch, makeWindow } from './batch.js';
import { metaStep, tailorEmbedding, type MetaSetup, type MetaState, type StepReport } from './meta.js';
import { predictSequence } from './tailor.js';
import { TimestepAccumulator } from './stats.js';
import { yieldToEventLoop } from './interrupt.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Called after every step (progress, logging, checkpoints). May be async. */
  onStep?: (r: StepReport & { epoch: number; stepsPerEpoch: number; totalSteps: number; state: MetaState }) => void | Promise<void>;
  /** Stops after the current step when aborted (e.g. Ctrl-C); the state so far is returned. */
  signal?: AbortSignal;
}

const STATE = 'state';

/** The last good state that train() attached to an error it threw (undefined for other errors). */
export function trainErrorState(e: unknown): MetaState | undefined {
  return e instanceof Error ? (e as Error & { [STATE]?: MetaState })[STATE] : undefined;
}

export interface TrainResult {
  state: MetaState;
  losses: number[];
  stopped: boolean;
}

/** Batches an epoch would yield, without materialising them. */
export function stepsPerEpoch(dataset: Dataset, batchSize: number): number {
  return Math.floor(dataset.size('train') / batchSize) || 1;
}

/**
 * Meta-trains from `state` (step counts resume it: batches already done in the
 * current epoch are skipped, and each epoch's shuffle is derived from the seed and
 * epoch, so a resumed run sees exactly the batches an uninterrupted one would).
 * When a step or `onStep` throws (a NonFiniteError, a model's error), the error carries the last
 * good state as `error.state` (see trainErrorState): the caller owns it, to save or dispose.
 */
export async function train(setup: MetaSetup, dataset: Dataset, state: MetaState, o: TrainOptions): Promise<TrainResult> {
  const spe = stepsPerEpoch(dataset, o.batchSize);
  const total = spe * o.epochs;
  const losses: number[] = [];
  let s = state;
  for (let epoch = Math.floor(s.step / spe); epoch < o.epochs; epoch++) {
    let i = 0;
    const skip = s.step - epoch * spe;
    for await (const batch of dataset.batches('train', { batchSize: o.batchSize, seed: deriveSeed(o.seed, `epoch-${epoch}`), shuffle: true, dropLast: true })) {
      if (i++ < skip) {
        disposeBatch(batch);
        continue;
      }
      if (o.signal?.aborted || i > spe) {
        disposeBatch(batch);
        if (o.signal?.aborted) return { state: s, losses, stopped: true };
        continue;
      }
      try {
        const r = metaStep(setup, s, batch, deriveSeed(o.seed, `noise-${s.step}`));
        s = r.state;
        losses.push(r.report.loss);
        if (o.onStep) await o.onStep({ ...r.report, epoch, stepsPerEpoch: spe, totalSteps: total, state: s });
        await yieldToEventLoop();
      } catch (e) {
        // The state the caller passed may be disposed by now (each step replaces it): hand back the live one.
        if (e instanceof Error && !(STATE in e)) Object.defineProperty(e, STATE, { value: s, enumerable: false });
        throw e;
      } finally {
        disposeBatch(batch);
      }
    }
  }
  return { state: s, losses, stopped: false };
}

export interface EvalOptions {
  batchSize: number;
  seed: number;
  metrics: Metric[];
  split?: 'train' | 'test';
  /** Limit the number of batches (quick looks). */
  maxBatches?: number;
}

export interface MetricCurves {
  /** Per metric: mean and standard error per predicted step. */
  [metric: string]: { mean: number[]; stderr: number[]; overall: number };
}

export interface EvalResult {
  untailored: MetricCurves;
  tailored: MetricCurves;
  /** Mean inner Noether loss before the first inner step and after tailoring. */
  innerBefore: number;
  sequences: number;
}

export interface TestPrediction {
  /** Ground truth of each predicted step, [B, ...] each. */
  targets: tf.Tensor[];
  untailored: tf.Tensor[];
  tailored: tf.Tensor[];
  /** Inner Noether loss before each inner step (none when nothing is tailored). */
  innerLosses: tf.Scalar[];
}

/** The seed of the per-step noise evaluate draws for its batch number `batch` (from 0) under `seed`:
 * the same noise, so the same numbers, wherever a test-time prediction is remade. */
export function evalNoiseSeed(seed: number, batch: number): number {
  return deriveSeed(seed, `eval-noise-${batch}`);
}

/** One batch's test-time prediction, as evaluate makes it (and noPeekingCheck checks it): a window
 * that gives the predictor nothing after the context (no teacher forcing), the untailored rollout,
 * and the rollout after plain (not differentiable) tailoring. Call inside tf.tidy: the tensors are new. */
export function predictTestBatch(setup: MetaSetup, params: { theta: Params; phi: Params }, batch: Batch, noiseSeed: number): TestPrediction {
  const w = makeWindow(setup.predictor, batch, {
    contextLength: setup.contextLength ?? setup.predictor.contextLength,
    horizon: setup.horizon,
    noiseSeed,
  });
  const out = predictSequence(
    {
      predictor: setup.predictor, theta: params.theta, embedding: tailorEmbedding(setup), phi: params.phi,
      inner: setup.inner, form: setup.form, mode: setup.tailorMode,
    },
    w.seq,
    { differentiable: false, untailored: true },
  );
  return { targets: w.targets, untailored: out.untailored!.preds, tailored: out.tailored.preds, innerLosses: out.innerLosses };
}

/** Evaluates untailored and tailored predictions of the same model on held-out data
 * (plain tailoring: no second-order tracking at test time). */
export async function evaluate(setup: MetaSetup, dataset: Dataset, state: MetaState, o: EvalOptions): Promise<EvalResult> {
  const stats = { untailored: new Map<string, TimestepAccumulator>(), tailored: new Map<string, TimestepAccumulator>() };
  for (const m of o.metrics) {
    stats.untailored.set(m.name, new TimestepAccumulator(m.name));
    stats.tailored.set(m.name, new TimestepAccumulator(m.name));
  }
  let n = 0;
  let inner = 0;
  let nb = 0;
  for await (const batch of dataset.batches(o.split ?? 'test', { batchSize: o.batchSize, shuffle: false })) {
    if (o.maxBatches !== undefined && nb >= o.maxBatches) {
      disposeBatch(batch);
      continue;
    }
    // try/finally: a metric, predictor or window that throws must not leave the batch behind.
    try {
      const cols = tidy(() => {
        const out = predictTestBatch(setup, state, batch, evalNoiseSeed(o.seed, nb));
        // Per metric, [B, T] values for the untailored and the tailored prediction.
        const res: Record<string, { u: tf.Tensor; t: tf.Tensor }> = {};
        for (const m of o.metrics) {
          res[m.name] = {
            u: tf.stack(out.untailored.map((p, i) => m.compute(p, out.targets[i]!)), 1),
            t: tf.stack(out.tailored.map((p, i) => m.compute(p, out.targets[i]!)), 1),
          };
        }
        return { res, inner: out.innerLosses[0] ?? tf.scalar(0) };
      });
      try {
        for (const m of o.metrics) {
          const r = cols.res[m.name]!;
          stats.untailored.get(m.name)!.add(r.u);
          stats.tailored.get(m.name)!.add(r.t);
        }
        inner += cols.inner.dataSync()[0]! * batch.obs.shape[0]!;
      } finally {
        tf.dispose(cols as unknown as tf.TensorContainer);
      }
      n += batch.obs.shape[0]!;
      nb++;
    } finally {
      disposeBatch(batch);
    }
  }
  const curves = (m: Map<string, TimestepAccumulator>) => {
    const out: MetricCurves = {};
    for (const [k, s] of m) {
      const r = s.result();
      out[k] = { mean: r.mean, stderr: r.stderr, overall: r.mean.reduce((a, b) => a + b, 0) / r.mean.length };
    }
    return out;
  };
  return { untailored: curves(stats.untailored), tailored: curves(stats.tailored), innerBefore: n ? inner / n : NaN, sequences: n };
}

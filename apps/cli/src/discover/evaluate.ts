// Rollout errors of the MLP with and without tailoring, and the meta-tailoring runs.
//
// Tailoring is per sequence: the predictor's mode 'cn' gives every sequence its own offsets of
// all weights, so a batch of B sequences is tailored as B independent one-step tailorings; core
// steps per-example variables at their per-sequence lr whatever B (see InnerMinimizeOptions.perExample).
import {
  tf, tidy, ArrayDataset, GradientInnerOptimizer, NonFiniteError, cloneParams, disposeMetaState, initMetaState,
  makeWindow, predictSequence, train, type Embedding, type MetaMode, type MetaSetup, type Params,
} from '@noether/core';
import type { VectorFieldPredictor } from '@noether/predictors-mlp';

export const FORM = '2a' as const;

/** Sequences of states, row-major [n, T, D]. */
export interface Sequences {
  values: Float32Array;
  n: number;
  T: number;
}

/** D of a row-major [n, T, D] block. */
export const stateDim = (obs: Sequences): number => obs.values.length / (obs.n * obs.T);

export interface RolloutErrors {
  /** RMSE over sequences and every coordinate at each predicted step (T − 1 entries). */
  perStep: number[];
  /** Mean squared error over all predicted steps, sequences and coordinates. */
  mse: number;
  rmse: number;
}

// The Noether loss of a·g is a² times that of g, so with one lr grid the spellings of a law
// (p² − 3·cos q, cos q − p²/3) and the oracle would tailor with different effective step sizes,
// and the grid's rounding would decide between them. Every embedding is therefore divided by its
// spread σ over the training states (fixed at φ's initial value): its loss is then dimensionless,
// the same for every spelling of a law, and one lr grid serves them all.

/** 1/σ, σ the standard deviation of g_φ over every state of the sequences (1 when g is constant there). */
export function embeddingScale(embedding: Embedding, phi: Params, obs: Sequences): number {
  const sd = tidy(() => {
    const x = tf.tensor2d(obs.values, [obs.n * obs.T, stateDim(obs)]);
    return tf.sqrt(tf.moments(embedding.apply(phi, [x])).variance);
  });
  const s = sd.dataSync()[0]!;
  sd.dispose();
  return Number.isFinite(s) && s > 0 ? 1 / s : 1;
}

/** g scaled by a constant (see embeddingScale). */
export function scaledEmbedding(embedding: Embedding, scale: number): Embedding {
  if (scale === 1) return embedding;
  return { ...embedding, init: (seed) => embedding.init(seed), apply: (params, xs) => tf.mul(embedding.apply(params, xs), scale) };
}

export interface Tailoring {
  /** Already scaled (scaledEmbedding). */
  embedding: Embedding;
  phi: Params;
  /** Inner (tailoring) SGD learning rate for one sequence. */
  lr: number;
}

/** Rolls out from each sequence's x_0 for its full length (after one tailoring step when given). */
export function rolloutErrors(predictor: VectorFieldPredictor, theta: Params, obs: Sequences, tailoring?: Tailoring): RolloutErrors {
  const { n, T } = obs;
  const sq = tidy(() => {
    const x = tf.tensor3d(obs.values, [n, T, stateDim(obs)]);
    const w = makeWindow(predictor, { obs: x }, { contextLength: 1 });
    const out = predictSequence(
      {
        predictor, theta, embedding: tailoring?.embedding, phi: tailoring?.phi ?? {}, form: FORM, mode: 'cn',
        inner: new GradientInnerOptimizer({ kind: 'sgd', steps: tailoring ? 1 : 0, lr: tailoring?.lr ?? 0 }),
      },
      w.seq, { differentiable: false },
    );
    return tf.stack(out.tailored.preds.map((p, i) => tf.mean(tf.squaredDifference(p, w.targets[i]!))));
  });
  const v = Array.from(sq.dataSync());
  sq.dispose();
  const mse = v.reduce((a, b) => a + b, 0) / v.length;
  return { perStep: v.map((e) => Math.sqrt(e)), mse, rmse: Math.sqrt(mse) };
}

export interface MetaOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  lrTheta: number;
  lrPhi: number;
  signal?: AbortSignal;
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface MetaOutcome {
  theta: Params;
  phi: Params;
  losses: number[];
  /** Set when training hit a NaN/Inf: the run is dropped. */
  diverged?: string;
  /** Set when the signal aborted (Ctrl-C): training stopped early, nothing is returned. */
  stopped?: boolean;
}

/** Meta-trains θ (and φ for mode 'noether') from the pre-trained θ on the training sequences. */
export async function metaTailor(
  predictor: VectorFieldPredictor, theta0: Params, data: Sequences,
  mode: MetaMode, o: MetaOptions, tailoring?: Tailoring,
): Promise<MetaOutcome> {
  const B = Math.min(o.batchSize, data.n);
  const ds = new ArrayDataset({ name: 'discover-train', obsShape: [stateDim(data)], seqLength: data.T, train: { obs: data.values, n: data.n }, test: { obs: data.values, n: data.n } });
  const setup: MetaSetup = {
    predictor, embedding: tailoring?.embedding, mode, form: FORM, tailorMode: 'cn',
    inner: new GradientInnerOptimizer({ kind: 'sgd', steps: mode === 'baseline' ? 0 : 1, lr: tailoring?.lr ?? 0 }),
    lrTheta: o.lrTheta, lrPhi: o.lrPhi, clipTheta: 10, clipPhi: 10,
  };
  const state = initMetaState(setup, cloneParams(theta0), tailoring ? cloneParams(tailoring.phi) : {});
  let cur = state;
  try {
    const r = await train(setup, ds, state, {
      epochs: o.epochs, batchSize: B, seed: o.seed, signal: o.signal,
      onStep: (s) => {
        cur = s.state;
        o.onStep?.(s.step, s.totalSteps, s.loss);
      },
    });
    if (r.stopped) {
      disposeMetaState(r.state);
      return { theta: {}, phi: {}, losses: r.losses, stopped: true };
    }
    const { theta, phi } = r.state;
    tf.dispose([...Object.values(r.state.optTheta.m), ...Object.values(r.state.optTheta.v), ...Object.values(r.state.optPhi.m), ...Object.values(r.state.optPhi.v)]);
    return { theta, phi, losses: r.losses };
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    disposeMetaState(cur);
    // Where and when only: core's fix (learning rates, clipping) is for a user's run, not a candidate's.
    return { theta: {}, phi: {}, losses: [], diverged: `non-finite value in ${e.where} at step ${e.step}` };
  }
}

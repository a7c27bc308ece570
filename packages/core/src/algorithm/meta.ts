// Meta-training (the paper's Algorithm 1): the task loss of the tailored rollout,
// differentiated through the inner step into θ (λ_out) and φ (λ_emb) by Adam,
// with per-group gradient-norm clipping. The same loop trains the baseline (no
// tailoring) and the oracle (a fixed conservation function, no φ).
import { tf } from '../tf.js';
import type { Batch, Embedding, InnerOptimizer, Predictor, TaskLoss, TailorMode } from '../contracts.js';
import type { Params } from '../params.js';
import { cloneParams, disposeParams, globalNorm, tidy, valueAndGradsOrZero } from '../params.js';
import { adamInit, adamStep, type AdamState } from './adam.js';
import { makeWindow, mseTaskLoss } from './batch.js';
import { predictSequence } from './tailor.js';
import type { NoetherForm } from './noether-loss.js';

export type MetaMode = 'noether' | 'baseline' | 'oracle';

export interface MetaSetup {
  predictor: Predictor;
  /** Learned embedding (mode 'noether') or fixed conservation function (mode 'oracle'). */
  embedding?: Embedding;
  mode: MetaMode;
  inner: InnerOptimizer;
  form: NoetherForm;
  tailorMode?: TailorMode;
  taskLoss?: TaskLoss;
  contextLength?: number;
  horizon?: number;
  teacherForcing?: boolean;
  /** λ_out (0 freezes θ) and λ_emb. */
  lrTheta: number;
  lrPhi: number;
  beta1?: number;
  beta2?: number;
  weightDecay?: number;
  /** Max global gradient norm per group; undefined = no clipping. */
  clipTheta?: number;
  clipPhi?: number;
}

export interface MetaState {
  theta: Params;
  phi: Params;
  optTheta: AdamState;
  optPhi: AdamState;
  step: number;
}

export interface StepReport {
  step: number;
  loss: number;
  gradNormTheta: number;
  gradNormPhi: number;
}

/** Raised when a loss or gradient is NaN/Inf; names where. The library writes no checkpoints, so the
 * message says what is kept in memory (the CLI's own message adds its checkpoint). */
export class NonFiniteError extends Error {
  constructor(readonly where: string, readonly step: number) {
    super(
      `non-finite value in ${where} at step ${step}: lower the learning rates or set clipTheta / clipPhi (outer.clipTheta / outer.clipPhi in a config); ` +
        'the step was not applied: train() hands back the state before it as trainErrorState(error)',
    );
    this.name = 'NonFiniteError';
  }
}

export function initMetaState(setup: MetaSetup, theta: Params, phi: Params): MetaState {
  return { theta, phi, optTheta: adamInit(theta), optPhi: adamInit(phi), step: 0 };
}

/** `fresh` with θ replaced by a copy of `from`'s (fresh's own θ is disposed; φ and the optimiser
 * states stay fresh): a phase that starts from another phase's model, e.g. Noether on a frozen
 * baseline (with lrTheta 0). */
export function withThetaOf(fresh: MetaState, from: MetaState): MetaState {
  disposeParams(fresh.theta);
  return { ...fresh, theta: cloneParams(from.theta) };
}

export function disposeMetaState(s: MetaState): void {
  disposeParams(s.theta, s.phi, s.optTheta.m, s.optTheta.v, s.optPhi.m, s.optPhi.v);
}

/** The embedding tailoring uses: none in mode 'baseline' (which may still carry one). */
export function tailorEmbedding(setup: MetaSetup): Embedding | undefined {
  return setup.mode === 'baseline' ? undefined : setup.embedding;
}

/** Differentiable meta-loss of one batch: task loss (+ the model's auxiliary loss) of the
 * tailored rollout. Call inside a gradient scope. */
export function metaLoss(setup: MetaSetup, theta: Params, phi: Params, batch: Batch, noiseSeed: number): tf.Scalar {
  const w = makeWindow(setup.predictor, batch, {
    contextLength: setup.contextLength ?? setup.predictor.contextLength,
    horizon: setup.horizon,
    teacherForcing: setup.teacherForcing,
    noiseSeed,
  });
  const out = predictSequence(
    { predictor: setup.predictor, theta, embedding: tailorEmbedding(setup), phi, inner: setup.inner, form: setup.form, mode: setup.tailorMode },
    w.seq,
    { differentiable: true },
  );
  const task = (setup.taskLoss ?? mseTaskLoss)(out.tailored.preds, w.targets);
  return tf.add(task, out.tailored.aux) as tf.Scalar;
}

function clip(grads: Params, max: number | undefined): { grads: Params; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  if (max === undefined) return { grads, norm };
  const scale = tf.minimum(1, tf.div(max, tf.add(norm, 1e-12)));
  const out: Params = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
  return { grads: out, norm };
}

/** One outer step. Returns the new state (the old one is disposed) and what happened. */
export function metaStep(setup: MetaSetup, state: MetaState, batch: Batch, noiseSeed = state.step): { state: MetaState; report: StepReport } {
  const learnTheta = setup.lrTheta > 0;
  const learnPhi = setup.mode === 'noether' && setup.lrPhi > 0 && Object.keys(state.phi).length > 0;
  const thetaNames = learnTheta ? Object.keys(state.theta) : [];
  const phiNames = learnPhi ? Object.keys(state.phi) : [];
  if (!thetaNames.length && !phiNames.length) throw new Error('nothing to train: lrTheta is 0 and there is no learned embedding');

  const result = tidy(() => {
    const f = (...ts: tf.Tensor[]) => {
      const theta = { ...state.theta };
      const phi = { ...state.phi };
      thetaNames.forEach((n, i) => (theta[n] = ts[i]!));
      phiNames.forEach((n, i) => (phi[n] = ts[thetaNames.length + i]!));
      return metaLoss(setup, theta, phi, batch, noiseSeed);
    };
    const xs = [...thetaNames.map((n) => state.theta[n]!), ...phiNames.map((n) => state.phi[n]!)];
    const { value, grads } = valueAndGradsOrZero(f, xs);
    const gT: Params = {};
    const gP: Params = {};
    thetaNames.forEach((n, i) => (gT[n] = grads[i]!));
    phiNames.forEach((n, i) => (gP[n] = grads[thetaNames.length + i]!));
    const ct = clip(gT, setup.clipTheta);
    const cp = clip(gP, setup.clipPhi);
    const h = { beta1: setup.beta1 ?? 0.9, beta2: setup.beta2 ?? 0.999, epsilon: 1e-8, weightDecay: setup.weightDecay };
    const t = learnTheta ? adamStep(state.theta, ct.grads, state.optTheta, { ...h, lr: setup.lrTheta }) : undefined;
    const p = learnPhi ? adamStep(state.phi, cp.grads, state.optPhi, { ...h, lr: setup.lrPhi, weightDecay: 0 }) : undefined;
    return { value, normT: ct.norm, normP: cp.norm, t, p };
  });
  const [loss, nT, nP] = [result.value.dataSync()[0]!, result.normT.dataSync()[0]!, result.normP.dataSync()[0]!];
  const step = state.step + 1;
  const bad = !Number.isFinite(loss) ? 'the outer (task) loss' : !Number.isFinite(nT) ? 'the gradient of θ (predictor)' : !Number.isFinite(nP) ? 'the gradient of φ (embedding)' : undefined;
  if (bad) {
    disposeParams(result.t?.params, result.t?.state.m, result.t?.state.v, result.p?.params, result.p?.state.m, result.p?.state.v);
    tf.dispose([result.value, result.normT, result.normP]);
    throw new NonFiniteError(bad, step);
  }
  tf.dispose([result.value, result.normT, result.normP]);
  const next: MetaState = {
    theta: result.t ? result.t.params : state.theta,
    optTheta: result.t ? result.t.state : state.optTheta,
    phi: result.p ? result.p.params : state.phi,
    optPhi: result.p ? { ...result.p.state } : state.optPhi,
    step,
  };
  if (result.t) disposeParams(state.theta, state.optTheta.m, state.optTheta.v);
  if (result.p) disposeParams(state.phi, state.optPhi.m, state.optPhi.v);
  return { state: next, report: { step, loss, gradNormTheta: nT, gradNormPhi: nP } };
}

// The contracts every plugin implements. Models are pure functions of explicit
// parameter records (see params.ts), so tailoring can differentiate through them.
import type { tf } from './tf.js';
import type { Params } from './params.js';

/** What tailoring adapts: all (or a named subset of) θ, only conditional-normalisation
 * affine parameters (CNGRAD), or latent activations such as a recurrent hidden state. */
export type TailorMode = 'all' | 'cn' | 'latent';

/** The predictor's state between steps: the observation x_t ([B, ...obsShape]) and,
 * for recurrent models, latent activations (e.g. LSTM h and c). */
export interface State {
  obs: tf.Tensor;
  latent?: Params;
  /** An extra per-step loss the model contributes to the task loss (e.g. β·KL). */
  aux?: tf.Scalar;
}

/** What one step may receive besides the state. */
export interface StepInput {
  /** Step index, 1-based (the step that produces x_t). */
  t: number;
  /** Action applied at this step, [B, A]. */
  action?: tf.Tensor;
  /** Ground truth x_t, given only when teacher forcing (training). */
  target?: tf.Tensor;
  /** Noise drawn once per step and reused by the untailored and tailored rollouts. */
  noise?: tf.Tensor;
}

export interface Predictor {
  readonly name: string;
  /** Default tailoring mode; `tailorModes` lists all supported ones. */
  readonly tailor: TailorMode;
  readonly tailorModes: readonly TailorMode[];
  /** Ground-truth observations a rollout starts from (1 for state-space models). */
  readonly contextLength: number;
  init(seed: number): Params;
  /** For mode 'all': the names of θ that tailoring adapts (default: every parameter). */
  tailoredNames?(params: Params): string[];
  /** For mode 'cn': fresh per-example conditional-normalisation parameters (γ=1, β=0) for a batch. */
  conditioning?(params: Params, batchSize: number): Params;
  /** Shape of the noise a step draws ([B, ...]), for stochastic models. */
  noiseShape?(batchSize: number): number[];
  /** State from context observations [B, contextLength, ...obsShape]. */
  initState(params: Params, context: tf.Tensor, input?: { actions?: tf.Tensor }): State;
  /** x_{t-1} → x_t. Pure: must not mutate params or state. */
  step(params: Params, state: State, input: StepInput): State;
}

export interface Embedding {
  readonly name: string;
  /** 1: g(x_t); 2: g(x_{t-1}, x_t) over consecutive observations (frames stacked on channels). */
  readonly arity: 1 | 2;
  /** Output dimension k. */
  readonly dim: number;
  /** Parameters φ ({} for fixed, e.g. oracle, embeddings). */
  init(seed: number): Params;
  /** xs has `arity` tensors [B, ...obsShape]; returns [B, k]. */
  apply(params: Params, xs: tf.Tensor[]): tf.Tensor;
  /** Optional: the forward pass split at a spatial feature layer, which Grad-CAM maps
   * (`noether analyze gradcam`); image embeddings that have one should say so. */
  readonly featureLayer?: FeatureLayer;
}

/** An embedding's forward pass split at one spatial layer: apply(p, xs) = head(p, features(p, xs)). */
export interface FeatureLayer {
  /** The layer's name, for captions (e.g. 'conv2'). */
  readonly name: string;
  /** Its activations [B, h, w, C], after the nonlinearity. */
  features(params: Params, xs: tf.Tensor[]): tf.Tensor;
  /** The rest of the forward pass: activations → [B, k]. */
  head(params: Params, features: tf.Tensor): tf.Tensor;
}

/** sgd; adam; nsgd: SGD on the gradient divided by its norm (per example when the vars have a batch axis),
 * a step of length lr whatever the scale of the Noether loss. */
export type InnerOptimizerKind = 'sgd' | 'adam' | 'nsgd';

export interface InnerOptimizerOptions {
  kind: InnerOptimizerKind;
  steps: number;
  lr: number;
  /** Drop second-order terms (first-order MAML-style) while meta-training. */
  firstOrder: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface InnerResult {
  vars: Params;
  /** Inner loss before each step (`steps` entries). */
  losses: tf.Scalar[];
}

export interface InnerMinimizeOptions {
  differentiable: boolean;
  /** The vars have a leading per-example axis (CN and latent tailoring), and the loss is the batch mean
   * of per-example losses: each example's gradient is multiplied by B, so its step is the one it would
   * take alone (lr is a per-sequence lr, whatever the batch), and nsgd normalises each example's gradient. */
  perExample?: boolean;
  /** Called with each iterate's inner loss (step 0 = the untailored vars) before the update is
   * applied, e.g. to record a learning curve over many test-time steps; throwing stops the loop. */
  onStep?: (step: number, loss: tf.Scalar) => void;
}

export interface InnerOptimizer {
  readonly options: InnerOptimizerOptions;
  /** Minimises loss(vars). With differentiable = true the result stays connected to vars and to
   * everything loss depends on, so an outer gradient flows through the update (second order). */
  minimize(loss: (vars: Params) => tf.Scalar, vars: Params, opts: InnerMinimizeOptions): InnerResult;
}

export type Split = 'train' | 'test';

export interface Batch {
  /** [B, T, ...obsShape] */
  obs: tf.Tensor;
  /** [B, T, A]: the action at index t drives the step that produces obs[:, t]. */
  actions?: tf.Tensor;
}

export interface BatchOptions {
  batchSize: number;
  seed?: number;
  shuffle?: boolean;
  dropLast?: boolean;
}

export interface Dataset {
  readonly name: string;
  readonly obsShape: readonly number[];
  readonly actionDim?: number;
  /** Length T of every sequence a batch holds. */
  readonly seqLength: number;
  size(split: Split): number;
  /** Batches; the consumer disposes the tensors it receives. */
  batches(split: Split, opts: BatchOptions): AsyncIterable<Batch>;
}

export interface Metric {
  readonly name: string;
  readonly higherIsBetter: boolean;
  /** Per-example values [B] for prediction and target [B, ...]. */
  compute(pred: tf.Tensor, target: tf.Tensor): tf.Tensor;
}

/** Task (outer) loss of a rollout against ground truth, each a list over time of [B, ...]. */
export type TaskLoss = (preds: tf.Tensor[], targets: tf.Tensor[]) => tf.Scalar;

/** A named, configurable constructor a plugin registers, so configs can pick it by `type`. */
export interface Factory<T> {
  readonly type: string;
  readonly description: string;
  create(options: Record<string, unknown>): T;
}

// What test/browser.test.ts runs on one tfjs backend, in headless Chromium (bundled with entry.ts)
// and in Node (imported by the test itself): the same code on both sides, so their numbers can be
// compared bit for bit. Tiny shapes: the whole test has to stay well under a minute on 2 cores.
import {
  buildExperiment, createContainer, disposeMetaState, evaluate, examples, GradientInnerOptimizer, initMetaState, metaStep,
  selectBackend, tf, train, wasmKernelPool, type BackendName, type MetaSetup, type Params, type SelectOptions,
} from '@noether/core';
import { register as registerMetrics } from '@noether/metrics';
import { tinyBatch, tinySvg } from '@noether/predictors-svg';
import { CnnEmbedding } from '@noether/embeddings-cnn';

/** Parameter values by name (plain numbers, so they survive JSON exactly). */
export type ParamValues = Record<string, number[]>;

export interface WorkloadResult {
  /** tf.getBackend() once selected: the backend that actually ran. */
  backend: string;
  /** wasm: the threads selectBackend reported in use. */
  threads?: number;
  /** The bits of conv2d and its gradients, hashed (the 'kernels' part). */
  kernels?: number[];
  /** wasm on threads: core's kernel pool afterwards (wasmKernelPool()). */
  pool?: { threads: number; started: boolean; dispatched: number };
  /** tf.memory().numTensors after selecting the backend, and after everything was disposed. */
  tensorsBefore: number;
  tensorsAfter: number;
  /** Absent when the run left it out (WorkloadOptions.parts). */
  oscillator?: {
    /** One outer loss per meta-training step. */
    losses: number[];
    /** Test-set MSE over the predicted steps, without and with tailoring. */
    untailoredMse: number;
    tailoredMse: number;
    /** Mean inner Noether loss before tailoring (evaluate's innerBefore). */
    innerBefore: number;
    theta: ParamValues;
    phi: ParamValues;
  };
  video?: { loss: number; gradNormTheta: number; gradNormPhi: number; theta: ParamValues; phi: ParamValues };
}

/** The toy oscillator experiment, built through core's plugin container as the CLI builds it. */
export const OSCILLATOR_CONFIG = {
  seed: 7,
  mode: 'noether',
  predictor: { type: 'mlp-step', hidden: 8 },
  embedding: { type: 'mlp-embedding', hidden: 8, dim: 2 },
  dataset: { type: 'oscillator', nTrain: 16, nTest: 8, seqLength: 6, seed: 3 },
  inner: { lr: 0.05 },
  outer: { epochs: 2, batchSize: 8, lrTheta: 1e-2, lrPhi: 1e-2 },
  eval: { batchSize: 8, metrics: ['mse'] },
};

const values = (p: Params): ParamValues => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.from(v.dataSync())]));

async function oscillator(): Promise<WorkloadResult['oscillator']> {
  const exp = await buildExperiment(createContainer(examples.oscillatorPlugin, registerMetrics), OSCILLATOR_CONFIG);
  const { epochs, batchSize } = exp.config.outer;
  const trained = await train(exp.setup, exp.dataset, exp.initState(), { epochs, batchSize, seed: exp.config.seed });
  try {
    const ev = await evaluate(exp.testSetup, exp.dataset, trained.state, { batchSize: exp.config.eval.batchSize, seed: exp.config.seed, metrics: exp.metrics });
    return {
      losses: trained.losses,
      untailoredMse: ev.untailored['mse']!.overall,
      tailoredMse: ev.tailored['mse']!.overall,
      innerBefore: ev.innerBefore,
      theta: values(trained.state.theta),
      phi: values(trained.state.phi),
    };
  } finally {
    disposeMetaState(trained.state);
  }
}

/** One meta-step of the smallest SVG (8×8 frames) with the CNN conservation embedding, tailoring
 * the conditional-normalisation parameters through one differentiable inner step. */
function video(): WorkloadResult['video'] {
  const predictor = tinySvg();
  const embedding = new CnnEmbedding({ dim: 4, height: 8, width: 8, channels: 3, filters: [2, 3] });
  const setup: MetaSetup = {
    predictor, embedding, mode: 'noether', tailorMode: 'cn', form: '2a',
    inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: 0.1 }),
    lrTheta: 1e-3, lrPhi: 1e-3, teacherForcing: true, horizon: 2,
  };
  const batch = tinyBatch(3, 2, 4, 8);
  const { state, report } = metaStep(setup, initMetaState(setup, predictor.init(1), embedding.init(2)), batch, 0);
  try {
    return { loss: report.loss, gradNormTheta: report.gradNormTheta, gradNormPhi: report.gradNormPhi, theta: values(state.theta), phi: values(state.phi) };
  } finally {
    disposeMetaState(state);
    tf.dispose(batch.obs);
  }
}

/** conv2d and its two gradients at a size cut into several chunks of output rows (so that on wasm
 * threads core's kernel pool runs them), as the bits of each result hashed (FNV-1a). */
function kernels(): number[] {
  const hash = (t: tf.Tensor) => {
    let h = 2166136261;
    for (const v of new Uint32Array((t.dataSync() as Float32Array).slice().buffer)) h = Math.imul(h ^ v, 16777619) >>> 0;
    return h;
  };
  return tf.tidy(() => {
    const x = tf.randomUniform([2, 64, 64, 4], -1, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 4, 8], -1, 1, 'float32', 12) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same');
    const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 13);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), dy)))([x, w]);
    return [y, dx!, dw!].map(hash);
  });
}

export const WORKLOAD_PARTS = ['oscillator', 'video', 'kernels'] as const;
export type WorkloadPart = (typeof WORKLOAD_PARTS)[number];

export interface WorkloadOptions extends Pick<SelectOptions, 'wasmPaths' | 'wasmThreads'> {
  /** Which parts to run (default both). */
  parts?: readonly WorkloadPart[];
}

/** Selects `backend` (wasm: where a page serves the .wasm files, how many threads), then runs the
 * parts asked for. */
export async function runWorkload(backend: BackendName, { parts = WORKLOAD_PARTS, ...wasm }: WorkloadOptions = {}): Promise<WorkloadResult> {
  const { threads } = await selectBackend({ backend, ...wasm, quiet: true });
  // The pool's workers start in the background; the parts below are synchronous, so let them start first.
  for (let i = 0; i < 500 && wasmKernelPool()?.started === false; i++) await new Promise((r) => setTimeout(r, 10));
  const tensorsBefore = tf.memory().numTensors;
  const osc = parts.includes('oscillator') ? await oscillator() : undefined;
  const vid = parts.includes('video') ? video() : undefined;
  const ker = parts.includes('kernels') ? kernels() : undefined;
  return { backend: tf.getBackend(), threads, pool: wasmKernelPool(), tensorsBefore, tensorsAfter: tf.memory().numTensors, oscillator: osc, video: vid, kernels: ker };
}

// A small built-in system: the 2-D harmonic oscillator with an MLP predictor
// (x + f(x)·dt) and an MLP embedding. Core's tests and the CLI's quick demo use it;
// it is also the shortest complete example of the Predictor/Embedding contracts.
import { tf } from '../tf.js';
import type { Embedding, Predictor, State, TailorMode } from '../contracts.js';
import type { Params } from '../params.js';
import { Rng } from '../rng.js';
import { ArrayDataset } from '../data/array-dataset.js';
import { TOKENS, type DatasetFactory, type EmbeddingFactory, type Plugin, type PredictorFactory } from '../di.js';
import { initMlp, mlp, type MlpSpec } from '../nn/mlp.js';
import type { Activation } from '../nn/activations.js';
import { z } from 'zod';
import { validate } from '../config.js';
import { metaStepAuditCase, type AuditCase } from '../algorithm/audit-case.js';
import { GradientInnerOptimizer } from '../algorithm/inner.js';
import type { MetaSetup } from '../algorithm/meta.js';

export const OSCILLATOR_DT = 0.1;

/** n sequences of T states (x, v) on circles of radius U[0.5, 1.5] and random phase. */
export function oscillatorData(n: number, T: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * T * 2);
  for (let i = 0; i < n; i++) {
    const r = rng.uniform(0.5, 1.5);
    const a = rng.uniform(0, 2 * Math.PI);
    for (let t = 0; t < T; t++) {
      out[(i * T + t) * 2] = r * Math.cos(a + t * OSCILLATOR_DT);
      out[(i * T + t) * 2 + 1] = -r * Math.sin(a + t * OSCILLATOR_DT);
    }
  }
  return out;
}

export function oscillatorDataset(o: { nTrain?: number; nTest?: number; seqLength?: number; seed?: number } = {}): ArrayDataset {
  const { nTrain = 32, nTest = 32, seqLength = 10, seed = 1 } = o;
  return new ArrayDataset({
    name: 'oscillator', obsShape: [2], seqLength,
    train: { obs: oscillatorData(nTrain, seqLength, seed), n: nTrain },
    test: { obs: oscillatorData(nTest, seqLength, seed + 1000), n: nTest },
  });
}

/** x_{t+1} = x_t + f_θ(x_t)·dt with an MLP f. */
export class MlpStepPredictor implements Predictor {
  readonly name = 'mlp-step';
  readonly tailor = 'all' as const;
  readonly tailorModes: readonly TailorMode[] = ['all'];
  readonly contextLength = 1;
  readonly spec: MlpSpec;
  constructor(readonly dim = 2, hidden = 16, activation: Activation = 'tanh', readonly dt = OSCILLATOR_DT) {
    this.spec = { sizes: [dim, hidden, dim], activation };
  }
  init(seed: number): Params {
    return initMlp(this.spec, seed);
  }
  initState(_p: Params, context: tf.Tensor): State {
    return { obs: tf.squeeze(tf.slice(context, [0, context.shape[1]! - 1], [-1, 1]), [1]) };
  }
  step(p: Params, s: State): State {
    return { obs: tf.add(s.obs, tf.mul(mlp(this.spec, p, s.obs), this.dt)) };
  }
}

/** g_φ(x) = MLP(x) ∈ R^k. */
export class MlpEmbedding implements Embedding {
  readonly name = 'mlp-embedding';
  readonly arity = 1 as const;
  readonly spec: MlpSpec;
  constructor(inputDim = 2, hidden = 16, readonly dim = 2, activation: Activation = 'tanh') {
    this.spec = { sizes: [inputDim, hidden, dim], activation };
  }
  init(seed: number): Params {
    return initMlp(this.spec, seed);
  }
  apply(p: Params, xs: tf.Tensor[]): tf.Tensor {
    return mlp(this.spec, p, xs[0]!);
  }
}

/** The oscillator's true conserved quantity |x|², as a fixed (oracle) embedding. */
export const oscillatorEnergy: Embedding = {
  name: 'oscillator-energy', arity: 1, dim: 1,
  init: () => ({}),
  apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true),
};

const DatasetOptions = z.strictObject({ nTrain: z.int().positive().optional(), nTest: z.int().positive().optional(), seqLength: z.int().min(2).optional(), seed: z.int().optional() });
const PredictorOptions = z.strictObject({ hidden: z.int().positive().default(16) });
const EmbeddingOptions = z.strictObject({ hidden: z.int().positive().default(16), dim: z.int().positive().default(2) });

/** Registers 'oscillator' (dataset), 'mlp-step' (predictor), 'mlp-embedding' and 'oscillator-energy' (embeddings). */
export const oscillatorPlugin: Plugin = (c) => {
  const dataset: DatasetFactory = {
    type: 'oscillator', description: '2-D harmonic oscillator sequences (nTrain, nTest, seqLength, seed)',
    create: (o) => oscillatorDataset(validate(DatasetOptions, o, 'dataset options', 'dataset')),
  };
  const predictor: PredictorFactory = {
    type: 'mlp-step', description: 'x + MLP(x)·dt for 2-D states (hidden)',
    create: (o) => new MlpStepPredictor(2, validate(PredictorOptions, o, 'predictor options', 'predictor').hidden),
  };
  const embedding: EmbeddingFactory = {
    type: 'mlp-embedding', description: 'MLP embedding of 2-D states (hidden, dim)',
    create: (o) => {
      const v = validate(EmbeddingOptions, o, 'embedding options', 'embedding');
      return new MlpEmbedding(2, v.hidden, v.dim);
    },
  };
  const energy: EmbeddingFactory = { type: 'oscillator-energy', description: 'the true energy |x|² (oracle)', create: () => oscillatorEnergy };
  c.register(TOKENS.DatasetFactory, { useValue: dataset });
  c.register(TOKENS.PredictorFactory, { useValue: predictor });
  c.register(TOKENS.EmbeddingFactory, { useValue: embedding });
  c.register(TOKENS.EmbeddingFactory, { useValue: energy });
};

/** Second-order audit entries for the example models. */
export function auditCases(): AuditCase[] {
  const ds = oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 3, seed: 2 });
  const make = (embedding: Embedding, mode: 'noether' | 'oracle') => () => {
    const predictor = new MlpStepPredictor(2, 5);
    const setup: MetaSetup = { predictor, embedding, mode, inner: new GradientInnerOptimizer({ lr: 0.1 }), form: '2a', lrTheta: 1, lrPhi: 1 };
    return { setup, theta: predictor.init(1), phi: mode === 'noether' ? embedding.init(2) : {}, batch: ds.gather('train', [0, 1, 2]) };
  };
  return [
    metaStepAuditCase('core/mlp-step+mlp-embedding/all', make(new MlpEmbedding(2, 4, 2), 'noether')),
    metaStepAuditCase('core/oscillator-energy/oracle', make(oscillatorEnergy, 'oracle')),
  ];
}

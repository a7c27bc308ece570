// A tiny built-in state-space experiment: a 2-D harmonic oscillator, an MLP predictor
// stepping x + f(x)·dt and an MLP embedding (the system of core's algorithm tests).
// Two phases: a baseline trains θ without tailoring; then Noether meta-training learns
// φ (and fine-tunes θ) starting from the baseline θ. The table compares held-out MSE.
import {
  ArrayDataset, Rng, TOKENS, buildExperiment, disposeMetaState, nn, tf,
  type DatasetFactory, type Embedding, type EmbeddingFactory, type Params, type Plugin, type Predictor, type PredictorFactory, type State,
} from '@noether/core';
import { tableRows, withThetaFrom } from '../run/runner.js';
import type { BuiltinExperiment } from './types.js';

export const DT = 0.1;

function num(o: Record<string, unknown>, what: string, key: string, dflt: number, check: (v: number) => boolean, expect: string): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !check(v)) throw new Error(`${what}.${key} must be ${expect}, got ${JSON.stringify(v)}`);
  return v;
}
const posInt = (v: number) => Number.isInteger(v) && v > 0;
function known(o: Record<string, unknown>, what: string, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${what}: unknown option '${k}' (valid: ${keys.join(', ')})`);
}

/** n sequences of T states (x, v) on circles of random radius and phase. */
export function oscillatorData(n: number, T: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * T * 2);
  for (let i = 0; i < n; i++) {
    const r = rng.uniform(0.5, 1.5);
    const a = rng.uniform(0, 2 * Math.PI);
    for (let t = 0; t < T; t++) {
      out[(i * T + t) * 2] = r * Math.cos(a + t * DT);
      out[(i * T + t) * 2 + 1] = -r * Math.sin(a + t * DT);
    }
  }
  return out;
}

export class ToyPredictor implements Predictor {
  readonly name = 'toy-mlp';
  readonly tailor = 'all' as const;
  readonly tailorModes = ['all'] as const;
  readonly contextLength = 1;
  readonly spec: nn.MlpSpec;
  constructor(hidden: number) {
    this.spec = { sizes: [2, hidden, 2], activation: 'tanh' };
  }
  init(seed: number): Params {
    return nn.initMlp(this.spec, seed);
  }
  initState(_p: Params, context: tf.Tensor): State {
    return { obs: tf.squeeze(tf.slice(context, [0, context.shape[1]! - 1], [-1, 1]), [1]) };
  }
  step(p: Params, s: State): State {
    return { obs: tf.add(s.obs, tf.mul(nn.mlp(this.spec, p, s.obs), DT)) };
  }
}

export class ToyEmbedding implements Embedding {
  readonly name = 'toy-mlp-embedding';
  readonly arity = 1 as const;
  readonly spec: nn.MlpSpec;
  constructor(hidden: number, readonly dim: number) {
    this.spec = { sizes: [2, hidden, dim], activation: 'tanh' };
  }
  init(seed: number): Params {
    return nn.initMlp(this.spec, seed);
  }
  apply(p: Params, xs: tf.Tensor[]): tf.Tensor {
    return nn.mlp(this.spec, p, xs[0]!);
  }
}

export const toyPlugin: Plugin = (c) => {
  const dataset: DatasetFactory = {
    type: 'toy-oscillator',
    description: '2-D harmonic oscillator sequences (options: nTrain, nTest, seqLength, seed)',
    create: (o) => {
      known(o, 'dataset', ['nTrain', 'nTest', 'seqLength', 'seed']);
      const nTrain = num(o, 'dataset', 'nTrain', 32, posInt, 'a positive integer');
      const nTest = num(o, 'dataset', 'nTest', 32, posInt, 'a positive integer');
      const T = num(o, 'dataset', 'seqLength', 10, (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2');
      const seed = num(o, 'dataset', 'seed', 1, Number.isInteger, 'an integer');
      return new ArrayDataset({
        name: 'toy-oscillator', obsShape: [2], seqLength: T,
        train: { obs: oscillatorData(nTrain, T, seed), n: nTrain },
        test: { obs: oscillatorData(nTest, T, seed + 1000), n: nTest },
      });
    },
  };
  const predictor: PredictorFactory = {
    type: 'toy-mlp',
    description: 'MLP vector field x + f(x)·dt for the toy oscillator (options: hidden)',
    create: (o) => {
      known(o, 'predictor', ['hidden']);
      return new ToyPredictor(num(o, 'predictor', 'hidden', 16, posInt, 'a positive integer'));
    },
  };
  const embedding: EmbeddingFactory = {
    type: 'toy-mlp-embedding',
    description: 'MLP embedding g(x) for the toy oscillator (options: hidden, dim)',
    create: (o) => {
      known(o, 'embedding', ['hidden', 'dim']);
      return new ToyEmbedding(num(o, 'embedding', 'hidden', 16, posInt, 'a positive integer'), num(o, 'embedding', 'dim', 2, posInt, 'a positive integer'));
    },
  };
  c.register(TOKENS.DatasetFactory, { useValue: dataset });
  c.register(TOKENS.PredictorFactory, { useValue: predictor });
  c.register(TOKENS.EmbeddingFactory, { useValue: embedding });
};

const base = {
  predictor: { type: 'toy-mlp', hidden: 16 },
  embedding: { type: 'toy-mlp-embedding', hidden: 16, dim: 2 },
  mode: 'noether' as const,
  inner: { optimizer: 'sgd' as const, steps: 1, lr: 0.01 },
  eval: { batchSize: 16, metrics: ['mse'] },
};

export const toyOscillator: BuiltinExperiment = {
  description: '2-D harmonic oscillator, MLP predictor and MLP embedding: baseline vs Noether (seconds on a CPU with --quick)',
  quickConfig: {
    ...base,
    name: 'toy-oscillator',
    seed: 1,
    dataset: { type: 'toy-oscillator', nTrain: 32, nTest: 32, seqLength: 10 },
    outer: { epochs: 12, batchSize: 8, lrTheta: 1e-2, lrPhi: 1e-2 },
  },
  fullConfig: {
    ...base,
    name: 'toy-oscillator',
    seed: 1,
    dataset: { type: 'toy-oscillator', nTrain: 256, nTest: 128, seqLength: 20 },
    outer: { epochs: 60, batchSize: 16, lrTheta: 3e-3, lrPhi: 3e-3 },
  },
  plugins: [toyPlugin],
  async run(ctx) {
    const cfg = ctx.config;
    // Phase 1: the baseline (θ only, no tailoring).
    const baseExp = await buildExperiment(ctx.container, { ...cfg, mode: 'baseline' }, 'config (baseline phase)');
    const b = await ctx.runner.trainPhase('baseline', baseExp);
    const evB = await ctx.runner.evaluatePhase('baseline', baseExp, b.state);
    // Phase 2: Noether meta-training from the baseline θ.
    const exp = await buildExperiment(ctx.container, cfg, 'config');
    const n = await ctx.runner.trainPhase('noether', exp, withThetaFrom(b.state));
    disposeMetaState(b.state);
    const evN = await ctx.runner.evaluatePhase('noether', exp, n.state);
    disposeMetaState(n.state);
    ctx.runner.plotLoss();
    return {
      table: [...tableRows('baseline', 'baseline', evB), ...tableRows('noether', cfg.mode, evN)],
      finalLoss: { baseline: b.finalLoss, noether: n.finalLoss },
      steps: { baseline: b.steps, noether: n.steps },
    };
  },
};

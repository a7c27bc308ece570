// A toy system shared by the algorithm tests: a 2-D harmonic oscillator, an MLP
// predictor stepping x + f(x)·dt, and an MLP embedding.
import { tf, nn, ArrayDataset, Rng, type Embedding, type Predictor, type Params, type State, type StepInput } from '../../src/index.js';

export const DT = 0.1;
const ACT = (process.env.TOY_ACT ?? 'tanh') as nn.Activation;

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

export function oscillatorDataset(nTrain = 16, nTest = 16, T = 8, seed = 1): ArrayDataset {
  return new ArrayDataset({
    name: 'oscillator', obsShape: [2], seqLength: T,
    train: { obs: oscillatorData(nTrain, T, seed), n: nTrain },
    test: { obs: oscillatorData(nTest, T, seed + 1000), n: nTest },
  });
}

export class ToyPredictor implements Predictor {
  readonly name = 'toy-mlp';
  readonly tailor = 'all' as const;
  readonly tailorModes = ['all'] as const;
  readonly contextLength = 1;
  readonly spec: nn.MlpSpec;
  constructor(hidden = 16) {
    this.spec = { sizes: [2, hidden, 2], activation: ACT };
  }
  init(seed: number): Params {
    return nn.initMlp(this.spec, seed);
  }
  initState(_p: Params, context: tf.Tensor): State {
    return { obs: tf.squeeze(tf.slice(context, [0, context.shape[1]! - 1], [-1, 1]), [1]) };
  }
  step(p: Params, s: State, _i: StepInput): State {
    return { obs: tf.add(s.obs, tf.mul(nn.mlp(this.spec, p, s.obs), DT)) };
  }
}

export class ToyEmbedding implements Embedding {
  readonly name = 'toy-emb';
  readonly arity = 1 as const;
  readonly dim = 2;
  readonly spec: nn.MlpSpec = { sizes: [2, 16, 2], activation: ACT };
  init(seed: number): Params {
    return nn.initMlp(this.spec, seed);
  }
  apply(p: Params, xs: tf.Tensor[]): tf.Tensor {
    return nn.mlp(this.spec, p, xs[0]!);
  }
}

/** The true conserved energy, as a fixed (oracle) embedding. */
export const energyEmbedding: Embedding = {
  name: 'energy', arity: 1, dim: 1,
  init: () => ({}),
  apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true),
};

export const mseMetric = {
  name: 'mse', higherIsBetter: false,
  compute: (p: tf.Tensor, t: tf.Tensor) => tf.mean(tf.squaredDifference(p, t), -1),
};

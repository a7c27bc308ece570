// The toy system of the algorithm tests: core's built-in oscillator example.
import { tf, examples, nn, type Params, type State } from '../../src/index.js';

export const oscillatorDataset = (nTrain = 16, nTest = 16, seqLength = 8, seed = 1) => examples.oscillatorDataset({ nTrain, nTest, seqLength, seed });
export class ToyPredictor extends examples.MlpStepPredictor {
  constructor(hidden = 16) {
    super(2, hidden);
  }
}
export class ToyEmbedding extends examples.MlpEmbedding {}
export const energyEmbedding = examples.oscillatorEnergy;
export const mseMetric = {
  name: 'mse', higherIsBetter: false,
  compute: (p: tf.Tensor, t: tf.Tensor) => tf.mean(tf.squaredDifference(p, t), -1),
};

/** The toy MLP step with a CN layer on its output (`cn/gamma`, `cn/beta`) and a latent offset `z`,
 * so that every tailoring mode applies. `names` and `readLatent` make it misdeclare, for the tests of
 * variables the rollout never reads. */
export class AllModesPredictor extends ToyPredictor {
  override readonly tailorModes = ['all', 'cn', 'latent'] as const;
  constructor(readonly names = { cn: 'cn', latent: 'z' }, readonly readLatent = true) {
    super(4);
  }
  conditioning(_p: Params, batchSize: number): Params {
    return nn.initConditionalNorm('cn', batchSize, 2);
  }
  override initState(p: Params, context: tf.Tensor): State {
    const s = super.initState(p, context);
    return { ...s, latent: { z: tf.zerosLike(s.obs) } };
  }
  override step(p: Params, s: State): State {
    const dx = nn.maybeConditionalNorm(p, this.names.cn, nn.mlp(this.spec, p, s.obs));
    const z = this.readLatent ? s.latent![this.names.latent]! : tf.zerosLike(s.obs);
    return { obs: tf.add(tf.add(s.obs, tf.mul(dx, this.dt)), z), latent: { z } };
  }
}

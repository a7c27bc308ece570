// The toy system of the algorithm tests: core's built-in oscillator example.
import { tf, examples } from '../../src/index.js';

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

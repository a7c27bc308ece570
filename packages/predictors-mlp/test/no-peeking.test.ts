// Per-example tailoring ('cn': each sequence its own offsets, as discover tailors) sees only the
// context at test time: with the frames after the context replaced by NaN, the predictions must be
// identical (core's test of the same name covers mode 'all').
import { describe, expect, it } from 'vitest';
import { ArrayDataset, GradientInnerOptimizer, evaluate, examples, initMetaState, tf, type MetaSetup, type Metric } from '@noether/core';
import { VectorFieldPredictor } from '../src/index.js';

const predMean: Metric = { name: 'pred', higherIsBetter: false, compute: (p: tf.Tensor) => tf.mean(p, -1) };

describe('no ground truth after the context reaches a test-time prediction', () => {
  for (const kind of ['sgd', 'nsgd'] as const) {
    it(`tailoring cn, ${kind}`, async () => {
      const T = 6;
      const truth = examples.oscillatorData(4, T, 3); // [4, T, 2]
      const blind = Float32Array.from(truth, (v, i) => (Math.floor(i / 2) % T < 1 ? v : NaN));
      const ds = (obs: Float32Array) => new ArrayDataset({ name: 'o', obsShape: [2], seqLength: T, train: { obs, n: 4 }, test: { obs, n: 4 } });
      const predictor = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 8 });
      const setup: MetaSetup = {
        predictor, embedding: new examples.MlpEmbedding(), mode: 'noether', form: '2a', tailorMode: 'cn', contextLength: 1,
        inner: new GradientInnerOptimizer({ kind, steps: 2, lr: 0.05 }), lrTheta: 0, lrPhi: 0,
      };
      const state = initMetaState(setup, predictor.init(1), setup.embedding!.init(2));
      const run = (d: Float32Array) => evaluate(setup, ds(d), state, { batchSize: 4, seed: 0, metrics: [predMean] });
      const seen = await run(truth);
      const unseen = await run(blind);
      for (const which of ['untailored', 'tailored'] as const) {
        expect(seen[which].pred!.mean.every(Number.isFinite), which).toBe(true);
        expect(unseen[which].pred!.mean, which).toEqual(seen[which].pred!.mean);
      }
      expect(seen.tailored.pred!.mean).not.toEqual(seen.untailored.pred!.mean);
    });
  }
});

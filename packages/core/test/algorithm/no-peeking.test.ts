// Tailoring at test time sees only the context (and actions): the frames it predicts must not
// reach the prediction. Evaluated twice, on data whose frames after the context are the truth and
// then NaN, the predictions (untailored and tailored, both forms, each inner optimiser) must be
// identical. (Per-example modes: predictors-mlp's test of the same name, mode 'cn'.)
import { describe, expect, it } from 'vitest';
import { ArrayDataset, GradientInnerOptimizer, evaluate, initMetaState, tf, type MetaSetup, type Metric } from '../../src/index.js';
import { ToyEmbedding, ToyPredictor, oscillatorDataset } from './toy.js';

const C = 2; // context frames
// A "metric" that reports the prediction itself (its mean per example), ignoring the target.
const predMean: Metric = { name: 'pred', higherIsBetter: false, compute: (p: tf.Tensor) => tf.mean(p, -1) };

describe('no ground truth after the context reaches a test-time prediction', () => {
  for (const [mode, form, kind] of [['all', '2a', 'sgd'], ['all', '2b', 'adam'], ['all', '2b', 'nsgd']] as const) {
    it(`tailoring ${mode}, form ${form}, ${kind}`, async () => {
      const truth = oscillatorDataset(4, 4, 8, 5);
      const obs = truth.gather('test', [0, 1, 2, 3]).obs;
      const values = obs.dataSync().slice() as Float32Array;
      obs.dispose();
      const blind = Float32Array.from(values, (v, i) => (Math.floor(i / 2) % 8 < C ? v : NaN)); // [4, 8, 2]: NaN after the context
      const ds = (test: Float32Array) => new ArrayDataset({ name: 'o', obsShape: [2], seqLength: 8, train: { obs: test, n: 4 }, test: { obs: test, n: 4 } });
      const predictor = new ToyPredictor();
      const setup: MetaSetup = {
        predictor, embedding: new ToyEmbedding(), mode: 'noether', form, tailorMode: mode, contextLength: C,
        inner: new GradientInnerOptimizer({ kind, steps: 3, lr: 0.05 }), lrTheta: 0, lrPhi: 0,
      };
      const state = initMetaState(setup, predictor.init(1), setup.embedding!.init(2));
      const before = tf.memory().numTensors;
      const run = async (d: Float32Array) => evaluate(setup, ds(d), state, { batchSize: 4, seed: 0, metrics: [predMean] });
      const seen = await run(values);
      const unseen = await run(blind);
      for (const which of ['untailored', 'tailored'] as const) {
        const a = seen[which].pred!.mean;
        expect(a.every(Number.isFinite), which).toBe(true);
        expect(unseen[which].pred!.mean, which).toEqual(a);
      }
      // Tailoring did something (else the check would be vacuous).
      expect(seen.tailored.pred!.mean).not.toEqual(seen.untailored.pred!.mean);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

// Per-example tailoring ('cn': each sequence its own offsets, as discover tailors) sees only the
// context at test time: with the frames after the context replaced by NaN, the predictions must be
// identical (core's noPeekingCheck; core's test of the same name covers mode 'all').
import { describe, expect, it } from 'vitest';
import { GradientInnerOptimizer, examples, noPeekingCheck, tf, type MetaSetup } from '@noether/core';
import { VectorFieldPredictor } from '../src/index.js';

describe('no ground truth after the context reaches a test-time prediction', () => {
  for (const kind of ['sgd', 'nsgd'] as const) {
    it(`tailoring cn, ${kind}`, () => {
      const T = 6;
      const predictor = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 8 });
      const setup: MetaSetup = {
        predictor, embedding: new examples.MlpEmbedding(), mode: 'noether', form: '2a', tailorMode: 'cn', contextLength: 1,
        inner: new GradientInnerOptimizer({ kind, steps: 2, lr: 0.05 }), lrTheta: 0, lrPhi: 0,
      };
      const before = tf.memory().numTensors;
      const params = { theta: predictor.init(1), phi: setup.embedding!.init(2) };
      const obs = tf.tensor3d(examples.oscillatorData(4, T, 3), [4, T, 2]);
      const r = noPeekingCheck(setup, params, { obs });
      tf.dispose([obs, params] as tf.TensorContainer);
      expect(r.problem).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.tailoringChanged).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

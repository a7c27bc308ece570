import { describe, it, expect } from 'vitest';
import { tf, ArrayDataset, evaluate, initMetaState, persistencePredictor, GradientInnerOptimizer, type MetaSetup } from '../../src/index.js';
import { mseMetric } from './toy.js';

describe('persistence reference', () => {
  it('repeats the last context frame: its MSE is the distance of each target to that frame', async () => {
    // 3 sequences of 5 frames of 4 values, context 2, horizon 3; frame t of sequence s is filled with s + t².
    const n = 3, T = 5, per = 4;
    const obs = new Float32Array(n * T * per);
    for (let s = 0; s < n; s++) for (let t = 0; t < T; t++) obs.fill(s + t * t, (s * T + t) * per, (s * T + t + 1) * per);
    const seqs = { obs, n };
    const ds = new ArrayDataset({ name: 'squares', obsShape: [4], seqLength: T, train: seqs, test: seqs });
    const predictor = persistencePredictor(2);
    const setup: MetaSetup = {
      predictor, mode: 'baseline', horizon: 3, inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: 0 }), form: '2a', lrTheta: 0, lrPhi: 0,
    };
    const before = tf.memory().numTensors;
    const state = initMetaState(setup, predictor.init(0), {});
    const ev = await evaluate(setup, ds, state, { batchSize: 2, seed: 0, metrics: [mseMetric] });
    // Last context frame t = 1 (value s + 1); targets t = 2, 3, 4: errors (4 − 1)², (9 − 1)², (16 − 1)².
    expect(ev.untailored.mse!.mean).toEqual([9, 64, 225]);
    expect(ev.tailored.mse!.mean).toEqual([9, 64, 225]);
    expect(ev.sequences).toBe(3);
    tf.dispose(Object.values(state.theta));
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });
});

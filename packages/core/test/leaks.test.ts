// "No tensor leaks": entry points a user calls in a loop, outside any tf.tidy, leave nothing behind
// once what they return is disposed, also when they throw part-way.
import { describe, expect, it } from 'vitest';
import {
  tf, GradientInnerOptimizer, predictSequence, makeWindow, embedSequence, evaluate, initMetaState, disposeMetaState, encodeMetaState, decodeMetaState,
  tidy, type MetaSetup, type Params, type TailorMode,
} from '../src/index.js';
import { AllModesPredictor, ToyPredictor, ToyEmbedding, energyEmbedding, oscillatorDataset, mseMetric } from './algorithm/toy.js';

const count = () => tf.memory().numTensors;

describe('tensor leaks', () => {
  it('predictSequence outside tf.tidy leaves only what it returns, in every mode and inner optimiser', () => {
    const p = new AllModesPredictor();
    const theta = p.init(1);
    const batch = oscillatorDataset(3, 1, 5).gather('train', [0, 1, 2]);
    const w = tidy(() => makeWindow(p, batch, { contextLength: 1 }));
    for (const mode of ['all', 'cn', 'latent'] as TailorMode[]) {
      for (const kind of ['sgd', 'adam', 'nsgd'] as const) {
        const before = count();
        // Rollout states, the unstacked context, Adam moments and the intermediate iterates used to stay.
        const out = predictSequence(
          { predictor: p, theta, embedding: energyEmbedding, phi: {}, inner: new GradientInnerOptimizer({ kind, steps: 4, lr: 0.01 }), form: '2b', mode },
          w.seq, { differentiable: false, untailored: true },
        );
        expect(out.innerLosses.length).toBe(4);
        tf.dispose([...out.untailored!.preds, out.untailored!.aux, ...out.tailored.preds, out.tailored.aux, ...out.innerLosses, ...Object.values(out.vars)]);
        expect(count(), `${mode}/${kind}`).toBe(before);
      }
    }
    tf.dispose([batch.obs, w.seq.context, ...w.targets, ...Object.values(theta)]);
  });

  it('embedSequence frees what it made when the embedding returns the wrong shape', () => {
    const emb = new ToyEmbedding();
    const phi = emb.init(2);
    const xs = [tf.ones([4, 2]), tf.zeros([4, 2]), tf.ones([4, 2])];
    const before = count();
    // [B] instead of [B, dim], only from the second call on: the first embedding was made already.
    let calls = 0;
    const bad = { ...emb, name: 'bad', dim: emb.dim, arity: 1 as const, init: () => ({}), apply: (q: Params, x: tf.Tensor[]) => (calls++ === 0 ? emb.apply(q, x) : tf.sum(emb.apply(q, x), -1)) };
    expect(() => embedSequence(bad, phi, xs.slice(0, 1), xs.slice(1))).toThrow(/returned shape \[4\]/);
    expect(count()).toBe(before);
    tf.dispose([...xs, ...Object.values(phi)]);
  });

  it('evaluate frees the batch when a metric throws', async () => {
    const s: MetaSetup = {
      predictor: new ToyPredictor(), embedding: new ToyEmbedding(), mode: 'noether',
      inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 2, lr: 0.05 }), form: '2a', lrTheta: 1e-3, lrPhi: 1e-3,
    };
    const st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const ds = oscillatorDataset(4, 4, 5);
    const before = count();
    const broken = { ...mseMetric, compute: () => { throw new Error('metric fails'); } };
    await expect(evaluate(s, ds, st, { batchSize: 2, seed: 0, metrics: [broken] })).rejects.toThrow('metric fails');
    expect(count()).toBe(before);
    disposeMetaState(st);
  });

  it('decodeMetaState frees the decoded tensors when it refuses the step counts', () => {
    const s: MetaSetup = { predictor: new ToyPredictor(), embedding: new ToyEmbedding(), mode: 'noether', inner: new GradientInnerOptimizer(), form: '2a', lrTheta: 1, lrPhi: 1 };
    const st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const { manifest, data } = encodeMetaState(st);
    manifest.meta['step'] = -1;
    const before = count();
    expect(() => decodeMetaState(manifest, data, 'ckpt', st)).toThrow(/meta\.step must be a non-negative integer/);
    expect(count()).toBe(before);
    disposeMetaState(st);
  });
});

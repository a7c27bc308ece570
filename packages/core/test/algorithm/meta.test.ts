import { describe, it, expect } from 'vitest';
import {
  tf, GradientInnerOptimizer, NonFiniteError, initMetaState, metaStep, train, trainErrorState, evaluate, disposeMetaState, predictSequence, makeWindow,
  type MetaSetup,
} from '../../src/index.js';
import { ToyPredictor, ToyEmbedding, energyEmbedding, oscillatorDataset, mseMetric } from './toy.js';

function setup(mode: MetaSetup['mode'], steps = 1, lr = 0.05): MetaSetup {
  return {
    predictor: new ToyPredictor(), embedding: mode === 'oracle' ? energyEmbedding : new ToyEmbedding(), mode,
    inner: new GradientInnerOptimizer({ kind: 'sgd', steps, lr }), form: '2a', lrTheta: 3e-3, lrPhi: 3e-3,
  };
}

describe('tailoring', () => {
  it('the inner step lowers the Noether loss and changes the prediction', () => {
    const s = setup('oracle', 3, 0.02);
    const theta = s.predictor.init(1);
    const ds = oscillatorDataset(4, 4, 8);
    const batch = ds.gather('train', [0, 1, 2, 3]);
    const w = makeWindow(s.predictor, batch, { contextLength: 1 });
    const out = predictSequence({ predictor: s.predictor, theta, embedding: energyEmbedding, phi: {}, inner: s.inner, form: '2a' }, w.seq, { differentiable: false, untailored: true });
    const losses = out.innerLosses.map((l) => l.dataSync()[0]!);
    expect(losses.length).toBe(3);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    const diff = tf.sum(tf.abs(tf.sub(out.tailored.preds[2]!, out.untailored!.preds[2]!))).dataSync()[0]!;
    expect(diff).toBeGreaterThan(0);
  });
});

describe('meta-training', () => {
  it('same seed and backend give identical loss curves', async () => {
    const run = async () => {
      const s = setup('noether');
      const ds = oscillatorDataset(8, 8, 6, 3);
      const st = initMetaState(s, s.predictor.init(7), s.embedding!.init(8));
      const r = await train(s, ds, st, { epochs: 2, batchSize: 4, seed: 5 });
      disposeMetaState(r.state);
      return r.losses;
    };
    const a = await run();
    const b = await run();
    expect(a.length).toBe(4);
    expect(a).toEqual(b);
  });

  it('keeps numTensors flat over 50 meta-training steps', () => {
    const s = setup('noether');
    const ds = oscillatorDataset(4, 4, 5, 3);
    let st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const counts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const batch = ds.gather('train', [0, 1, 2, 3]);
      st = metaStep(s, st, batch).state;
      tf.dispose(batch.obs);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[49]).toBe(counts[1]);
    disposeMetaState(st);
  });

  it('a predictor or embedding that throws mid-step leaks nothing, and the next step runs', () => {
    const s = setup('noether');
    const ds = oscillatorDataset(4, 4, 5, 3);
    let st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const batch = ds.gather('train', [0, 1, 2, 3]);
    st = metaStep(s, st, batch).state;
    const before = tf.memory().numTensors;
    const step = s.predictor.step.bind(s.predictor);
    let calls = 0;
    s.predictor.step = (p, state, input) => {
      if (++calls === 8) throw new Error('predictor fails at its 8th step'); // inside the tailored rollout
      return step(p, state, input);
    };
    expect(() => metaStep(s, st, batch)).toThrow(/8th step/);
    s.predictor.step = step;
    const apply = s.embedding!.apply.bind(s.embedding);
    s.embedding!.apply = () => {
      throw new Error('embedding fails');
    };
    expect(() => metaStep(s, st, batch)).toThrow(/embedding fails/);
    s.embedding!.apply = apply;
    expect(tf.memory().numTensors).toBe(before);
    st = metaStep(s, st, batch).state;
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(batch.obs);
    disposeMetaState(st);
  });

  it('train() hands the last good state back on the error when a step throws', async () => {
    const s = setup('noether');
    const ds = oscillatorDataset(8, 4, 5, 3);
    const before = tf.memory().numTensors;
    const st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const step = s.predictor.step.bind(s.predictor);
    let armed = false;
    s.predictor.step = (p, state, input) => {
      if (armed) throw new Error('fails in the third meta-step');
      return step(p, state, input);
    };
    const onStep = (r: { step: number }) => void (armed = r.step === 2);
    const err = await train(s, ds, st, { epochs: 2, batchSize: 4, seed: 0, onStep }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/third meta-step/);
    const last = trainErrorState(err)!;
    expect(last.step).toBe(2);
    expect(Object.values(last.theta).every((t) => !t.isDisposed)).toBe(true);
    disposeMetaState(last);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a non-finite loss: the error names where and the fix, and promises only what train() keeps (no checkpoint)', async () => {
    const s = { ...setup('noether'), lrTheta: 1e38 };
    const ds = oscillatorDataset(8, 4, 5, 3);
    const before = tf.memory().numTensors;
    const st = initMetaState(s, s.predictor.init(1), s.embedding!.init(2));
    const err = await train(s, ds, st, { epochs: 4, batchSize: 4, seed: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^non-finite value in the .* at step \d+: lower the learning rates or set clipTheta \/ clipPhi .*trainErrorState\(error\)$/);
    expect(msg).not.toMatch(/checkpoint/);
    const last = trainErrorState(err)!;
    expect(last.step).toBe((err as NonFiniteError).step - 1);
    disposeMetaState(last);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a declared but unused parameter gets a zero gradient and stays put (tfjs would throw "Cannot compute gradient")', () => {
    const s = setup('noether');
    const ds = oscillatorDataset(4, 4, 5, 3);
    const theta = { ...s.predictor.init(1), 'act/w': tf.ones([3, 2]) }; // e.g. used only when actions are given
    const phi = { ...s.embedding!.init(2), unused: tf.ones([2]) };
    let st = initMetaState(s, theta, phi);
    const batch = ds.gather('train', [0, 1, 2, 3]);
    for (let i = 0; i < 2; i++) {
      const r = metaStep(s, st, batch);
      expect(Number.isFinite(r.report.loss)).toBe(true);
      expect(r.report.gradNormPhi).toBeGreaterThan(0);
      st = r.state;
    }
    expect(Array.from(st.theta['act/w']!.dataSync())).toEqual(new Array(6).fill(1));
    expect(Array.from(st.phi['unused']!.dataSync())).toEqual([1, 1]);
    tf.dispose(batch.obs);
    disposeMetaState(st);
  });

  it('learns an embedding whose tailoring beats the untailored model on held-out sequences', async () => {
    // Pre-train the predictor briefly (baseline), then meta-learn the embedding with θ frozen:
    // the tailored prediction of the same θ must beat its untailored prediction on test data.
    const ds = oscillatorDataset(32, 32, 10, 11);
    const base = setup('baseline');
    base.lrTheta = 1e-2;
    let st = initMetaState(base, base.predictor.init(3), {});
    // A short pre-training leaves the predictor imperfect, as real predictors are.
    st = (await train(base, ds, st, { epochs: 5, batchSize: 8, seed: 1 })).state;
    const s = setup('noether', 1, 0.01);
    s.lrTheta = 0;
    s.lrPhi = 1e-2;
    const phi = s.embedding!.init(4);
    const ms = initMetaState(s, st.theta, phi);
    const r = await train(s, ds, ms, { epochs: 40, batchSize: 8, seed: 2 });
    const ev = await evaluate(s, ds, r.state, { batchSize: 16, seed: 0, metrics: [mseMetric] });
    const u = ev.untailored.mse!.overall;
    const t = ev.tailored.mse!.overall;
    console.log(`toy held-out MSE: untailored ${u.toExponential(3)}, tailored ${t.toExponential(3)}`);
    expect(ev.sequences).toBe(32);
    expect(t).toBeLessThan(u * 0.8);
  });
});

import { describe, it, expect } from 'vitest';
import { tf, encodeParams, decodeParams, encodeMetaState, decodeMetaState, initMetaState, CheckpointError, GradientInnerOptimizer } from '../src/index.js';
import { ToyPredictor, ToyEmbedding } from './algorithm/toy.js';

describe('checkpoints', () => {
  const p = { 'a/w': tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([5]) };
  it('round-trips a parameter tree as a weights manifest + binary', () => {
    const { manifest, data } = encodeParams(p, { note: 'x' });
    expect(manifest.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(['a/w', 'b']);
    expect(data.byteLength).toBe(5 * 4);
    const back = decodeParams(JSON.parse(JSON.stringify(manifest)), data.slice());
    expect(Array.from(back.params['a/w']!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(back.params['a/w']!.shape).toEqual([2, 2]);
    expect(back.meta).toEqual({ note: 'x' });
  });
  it('refuses a truncated binary', () => {
    const { manifest, data } = encodeParams(p);
    expect(() => decodeParams(manifest, data.slice(0, 12), 'ck/weights.bin')).toThrow(/ck\/weights\.bin: .*truncated/);
  });
  it('refuses a checkpoint that does not match the model', () => {
    const { manifest, data } = encodeParams(p);
    const expected = { 'a/w': tf.zeros([3, 2]), c: tf.zeros([1]) };
    expect(() => decodeParams(manifest, data, 'ck', expected)).toThrow(/'a\/w' has shape \[2,2\] but the model needs \[3,2\].*missing 'c'.*unexpected 'b'/);
  });
  it('refuses a NaN or infinite value, naming the tensor and the element', () => {
    const { manifest, data } = encodeParams(p);
    for (const bad of [NaN, Infinity]) {
      const f = new Float32Array(data.slice().buffer);
      f[3] = bad; // a/w holds elements 0-3
      expect(() => decodeParams(manifest, new Uint8Array(f.buffer), 'ck')).toThrow(new RegExp(`ck: 'a/w' holds ${bad} \\(element 3\\): the weights are corrupt`));
    }
  });
  it('refuses other formats and versions', () => {
    const { manifest, data } = encodeParams(p);
    expect(() => decodeParams({ ...manifest, version: 99 }, data)).toThrow(CheckpointError);
    expect(() => decodeParams({ hello: 1 }, data)).toThrow(/not a Noether checkpoint/);
  });
  it('round-trips a whole training state', () => {
    const pred = new ToyPredictor(4);
    const emb = new ToyEmbedding();
    const setup = { predictor: pred, embedding: emb, mode: 'noether' as const, inner: new GradientInnerOptimizer(), form: '2a' as const, lrTheta: 1, lrPhi: 1 };
    const s = initMetaState(setup, pred.init(1), emb.init(2));
    s.step = 7;
    s.optTheta.step = 7;
    const { manifest, data } = encodeMetaState(s, { epoch: 1 });
    const back = decodeMetaState(manifest, data, 'ck', initMetaState(setup, pred.init(3), emb.init(4)));
    expect(back.state.step).toBe(7);
    expect(back.state.optTheta.step).toBe(7);
    expect(back.meta.epoch).toBe(1);
    expect(Array.from(back.state.theta['l0/w']!.dataSync())).toEqual(Array.from(s.theta['l0/w']!.dataSync()));
    expect(Object.keys(back.state.optPhi.m).sort()).toEqual(Object.keys(s.phi).sort());
  });
});

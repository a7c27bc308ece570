import { describe, it, expect } from 'vitest';
import { tf, Rng, randomNormal, noetherLoss, noetherLossPerExample, createContainer, findFactory, TOKENS, type Embedding } from '@noether/core';
import { CnnEmbedding, register, auditCases } from '../src/index.js';

const small = () => new CnnEmbedding({ dim: 5, height: 16, width: 12, channels: 3, filters: [4, 6] });

describe('CnnEmbedding', () => {
  it('maps two frames to [B, dim] with the paper layer shapes', () => {
    const e = small();
    const p = e.init(1);
    expect(p['conv1/w']!.shape).toEqual([5, 5, 6, 4]);
    expect(p['conv2/w']!.shape).toEqual([5, 5, 4, 6]);
    expect(p['fc/w']!.shape).toEqual([4 * 3 * 6, 5]);
    const rng = new Rng(2);
    const y = e.apply(p, [randomNormal(rng, [2, 16, 12, 3]), randomNormal(rng, [2, 16, 12, 3])]);
    expect(y.shape).toEqual([2, 5]);
    expect(e.arity).toBe(2);
    // Paper defaults at 128×128: 32×32×64 features into the 64-d read-out.
    expect(new CnnEmbedding().flat).toBe(32 * 32 * 64);
  });

  it('is order-sensitive in its two frames and deterministic given the seed', () => {
    const e = small();
    const rng = new Rng(3);
    const a = randomNormal(rng, [1, 16, 12, 3]);
    const b = randomNormal(rng, [1, 16, 12, 3]);
    const p = e.init(4);
    const ab = e.apply(p, [a, b]).dataSync();
    const ba = e.apply(p, [b, a]).dataSync();
    expect(Array.from(ab)).not.toEqual(Array.from(ba));
    expect(Array.from(e.apply(e.init(4), [a, b]).dataSync())).toEqual(Array.from(ab));
  });

  it('rejects frames of the wrong size with a message naming the options', () => {
    const e = small();
    expect(() => e.apply(e.init(1), [tf.zeros([1, 8, 8, 3]), tf.zeros([1, 8, 8, 3])])).toThrow(/height\/width\/channels/);
  });

  it('works with both Noether loss forms (values match their definitions; gradients reach φ and the predictions)', () => {
    const e: Embedding = small();
    const p = e.init(5);
    const rng = new Rng(6);
    const ctx = [randomNormal(rng, [2, 16, 12, 3]), randomNormal(rng, [2, 16, 12, 3])];
    // Predictions that repeat the last context frame: e1 = e2 = g(c1, c1), e0 = g(c0, c1).
    const preds = [ctx[1]!, ctx[1]!];
    const e0 = e.apply(p, ctx);
    const e1 = e.apply(p, [ctx[1]!, ctx[1]!]);
    const d = tf.sum(tf.square(tf.sub(e0, e1)), -1).dataSync();
    const la = noetherLossPerExample(e, p, ctx, preds, '2a').dataSync();
    const lb = noetherLossPerExample(e, p, ctx, preds, '2b').dataSync();
    for (let i = 0; i < 2; i++) {
      expect(la[i]!).toBeCloseTo(2 * d[i]!, 5);
      expect(lb[i]!).toBeCloseTo(d[i]!, 5);
      expect(d[i]!).toBeGreaterThan(0);
    }
    for (const form of ['2a', '2b'] as const) {
      const x = randomNormal(rng, [2, 16, 12, 3]);
      const names = Object.keys(p);
      const grads = tf.grads((...ts: tf.Tensor[]) => {
        const ph = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
        return noetherLoss(e, ph, ctx, [ts[names.length]!, tf.mul(ts[names.length]!, 0.5)], form);
      })([...names.map((n) => p[n]!), x]);
      const mags = grads.map((g) => tf.sum(tf.abs(g)).dataSync()[0]!);
      const fcw = mags[names.indexOf('fc/w')]!;
      mags.forEach((mag, i) => {
        // The read-out bias cancels in every difference of embeddings: its gradient is 0 up to rounding.
        if (names[i] === 'fc/b') expect(mag).toBeLessThan(1e-5 * fcw);
        else expect(mag).toBeGreaterThan(0);
      });
    }
  });

  it('the second-order audit cases run', () => {
    const cases = auditCases();
    expect(cases.map((c) => c.name)).toEqual(['embeddings-cnn/cnn/8x8-form-2a', 'embeddings-cnn/cnn/8x8-form-2b']);
    const before = tf.memory().numTensors;
    for (const c of cases) c.run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('register', () => {
  it("registers the 'cnn' factory; bad options name the field", () => {
    const c = createContainer(register);
    const f = findFactory<Embedding>(c, TOKENS.EmbeddingFactory, 'cnn', 'embedding');
    const e = f.create({ dim: 8, height: 32, width: 32 });
    expect(e.dim).toBe(8);
    expect(e.arity).toBe(2);
    expect(() => f.create({ dim: -1 })).toThrow(/dim/);
    expect(() => f.create({ filters: [3] })).toThrow(/filters/);
    expect(() => f.create({ colour: 3 })).toThrow(/colour/);
  });
});

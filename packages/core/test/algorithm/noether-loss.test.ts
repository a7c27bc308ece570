import { describe, it, expect } from 'vitest';
import { tf, noetherLoss, noetherLossPerExample, type Embedding } from '../../src/index.js';

const ident: Embedding = { name: 'id', arity: 1, dim: 2, init: () => ({}), apply: (_p, xs) => xs[0]! };
const pair: Embedding = { name: 'diff', arity: 2, dim: 2, init: () => ({}), apply: (_p, xs) => tf.sub(xs[1]!, xs[0]!) };

describe('noether loss', () => {
  const x0 = tf.tensor2d([[0, 0], [1, 1]]);
  const preds = [tf.tensor2d([[1, 0], [1, 1]]), tf.tensor2d([[1, 2], [1, 3]])];
  it('form 2a sums squared distances to g(x0) over time, mean over batch', () => {
    // example 0: |(1,0)|²=1, |(1,2)|²=5 → 6; example 1: 0 + 4 → 4
    expect(Array.from(noetherLossPerExample(ident, {}, [x0], preds, '2a').dataSync())).toEqual([6, 4]);
    expect(noetherLoss(ident, {}, [x0], preds, '2a').dataSync()[0]).toBeCloseTo(5);
  });
  it('form 2b compares consecutive predictions', () => {
    // example 0: 1 + 4 = 5; example 1: 0 + 4 = 4
    expect(Array.from(noetherLossPerExample(ident, {}, [x0], preds, '2b').dataSync())).toEqual([5, 4]);
  });
  it('pair embeddings start from the last two context observations', () => {
    const xm1 = tf.tensor2d([[0, 0], [1, 0]]);
    // e0 = x0 − x−1 = (0,0),(0,1); e1 = p1 − x0 = (1,0),(0,0); e2 = p2 − p1 = (0,2),(0,2)
    // 2a: ex0: 1 + 4 = 5; ex1: 1 + 1 = 2
    expect(Array.from(noetherLossPerExample(pair, {}, [xm1, x0], preds, '2a').dataSync())).toEqual([5, 2]);
    expect(() => noetherLoss(pair, {}, [x0], preds, '2a')).toThrow(/arity 2/);
  });
  it('refuses an embedding output that is not [B, dim] (it would broadcast or sum into a wrong loss)', () => {
    const bad = (apply: Embedding['apply'], dim = 2): Embedding => ({ name: 'bad', arity: 1, dim, init: () => ({}), apply });
    expect(() => noetherLoss(bad((_p, xs) => tf.sum(xs[0]!, -1)), {}, [x0], preds, '2a')).toThrow(/embedding 'bad' returned shape \[2\] for a batch of 2; apply\(\) must return \[B, dim\] = \[2, 2\]/);
    expect(() => noetherLoss(bad((_p, xs) => xs[0]!, 5), {}, [x0], preds, '2a')).toThrow(/returned shape \[2,2\].*\[2, 5\]/);
    expect(() => noetherLoss(bad((_p, xs) => tf.mean(xs[0]!, 0, true)), {}, [x0], preds, '2b')).toThrow(/returned shape \[1,2\]/);
  });
  it('is zero for a conserved quantity', () => {
    const energy: Embedding = { name: 'e', arity: 1, dim: 1, init: () => ({}), apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true) };
    const c = [tf.tensor2d([[1, 0]])];
    const rot = [tf.tensor2d([[0, 1]]), tf.tensor2d([[Math.SQRT1_2, -Math.SQRT1_2]])];
    expect(noetherLoss(energy, {}, c, rot, '2a').dataSync()[0]).toBeCloseTo(0, 6);
  });
});

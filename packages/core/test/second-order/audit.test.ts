// Audits a tiny meta-step (tanh MLP predictor, one SGD tailoring step, tf.grads through it):
// every kernel it dispatches must have a second-order-checked gradient.
import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng, randomNormal } from '../../src/rng.js';
import { auditSecondOrder, SECOND_ORDER_CHECKED, uncheckedKernels } from '../../src/second-order/audit.js';
import { metaStepAuditCase } from '../../src/algorithm/audit-case.js';
import { GradientInnerOptimizer } from '../../src/algorithm/inner.js';
import * as examples from '../../src/examples/oscillator.js';
import type { Embedding } from '../../src/contracts.js';

type T = tf.Tensor;

function metaStep(): T[] {
  const r = new Rng(7);
  const x = randomNormal(r, [4, 3]);
  const y = randomNormal(r, [4, 2]);
  const names = ['w1', 'b1', 'w2', 'b2'];
  const init = [randomNormal(r, [3, 5], 0.5), tf.zeros([5]), randomNormal(r, [5, 2], 0.5), tf.zeros([2])];
  const f = (p: T[], v: T) => tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(v, p[0]!), p[1]!)), p[2]!), p[3]!);
  // Inner loss: a self-supervised stand-in (output energy); outer: supervised MSE after tailoring.
  const inner = (p: T[]) => tf.mean(tf.square(f(p, x)));
  return tf.grads((...p: T[]) => {
    const g = tf.grads((...q: T[]) => inner(q) as tf.Scalar)(p);
    const tailored = p.map((t, i) => tf.sub(t, tf.mul(0.1, g[i]!)));
    return tf.mean(tf.square(tf.sub(f(tailored, x), y))) as tf.Scalar;
  })(init.slice(0, names.length));
}

describe('second-order audit', () => {
  it('traces the kernels of a tanh-MLP meta-step and finds every one checked', () => {
    const { result, kernels, unchecked } = auditSecondOrder(() => tf.tidy(metaStep));
    expect(result).toHaveLength(4);
    tf.dispose(result);
    // The trace really sees forward, backward and second-order kernels.
    for (const k of ['BatchMatMul', 'Tanh', 'Multiply', 'Sum']) expect(kernels).toContain(k);
    expect(unchecked).toEqual([]);
  });
  it('reports kernels outside the checked table', () => {
    expect(uncheckedKernels(['Tanh', 'Bincount', 'CropAndResize'])).toEqual(['Bincount', 'CropAndResize']);
    expect(SECOND_ORDER_CHECKED['Tanh']).toMatch(/fixes\.test/);
  });
  it('refuses an audit case whose meta-step never differentiates through tailoring (a φ gradient of exactly 0)', () => {
    const ds = examples.oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 3, seed: 2 });
    // φ is declared but unused: the meta-step has no second-order path, so a clean trace would prove nothing.
    const ignoresPhi: Embedding = { name: 'ignores-phi', arity: 1, dim: 1, init: () => ({ w: tf.ones([1]) }), apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true) };
    const make = (embedding: Embedding) => () => {
      const predictor = new examples.MlpStepPredictor(2, 3);
      const setup = { predictor, embedding, mode: 'noether' as const, inner: new GradientInnerOptimizer({ lr: 0.1 }), form: '2a' as const, lrTheta: 1, lrPhi: 1 };
      return { setup, theta: predictor.init(1), phi: embedding.init(2), batch: ds.gather('train', [0, 1, 2]) };
    };
    const before = tf.memory().numTensors;
    expect(() => metaStepAuditCase('core/ignores-phi/all', make(ignoresPhi)).run()).toThrow(/audit case 'core\/ignores-phi\/all': the embedding's meta-gradient is exactly 0/);
    metaStepAuditCase('core/mlp-embedding/all', make(new examples.MlpEmbedding(2, 3, 1))).run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

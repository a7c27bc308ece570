// Core's memory-freeing backward (second-order/backprop.ts) against tfjs's own engine.gradients.
import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng } from '../../src/rng.js';

type Grads = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allow?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };
const E = tf.engine() as unknown as { gradients: Grads };
const stock = Object.getPrototypeOf(E).gradients as Grads;

/** Runs fn with tfjs's own backward in place of core's. */
function withStock<T>(fn: () => T): T {
  const ours = E.gradients;
  E.gradients = stock;
  try {
    return fn();
  } finally {
    E.gradients = ours;
  }
}

const uni = (seed: number, shape: number[]) => tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

describe('freeing backward', () => {
  it('is installed, and second-order gradients are bit for bit those of tfjs\'s backward', () => {
    expect(E.gradients).not.toBe(stock);
    const w1 = uni(1, [3, 8]);
    const w2 = uni(2, [8, 2]);
    const x = uni(3, [5, 3]);
    // outer(w) = loss after one inner SGD step on the same loss: a second-order gradient.
    const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.tanh(tf.matMul(x, a)), b)));
    const meta = () =>
      tf.tidy(() => {
        const { grads } = tf.valueAndGrads(((a: tf.Tensor, b: tf.Tensor) => {
          const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => loss(p, q))([a, b]);
          return loss(tf.sub(a, tf.mul(g[0]!, 0.1)), tf.sub(b, tf.mul(g[1]!, 0.1))) as tf.Scalar;
        }) as never)([w1, w2]);
        return grads.map((g) => Array.from(g.dataSync()));
      });
    const before = tf.memory().numTensors;
    const ours = meta();
    expect(tf.memory().numTensors).toBe(before);
    expect(ours).toEqual(withStock(meta));
    expect(ours[0]!.some((v) => v !== 0)).toBe(true);
  });

  it('frees used gradients during the backward, which tfjs keeps to the end', () => {
    // A chain of 30 ops on a 64k-float tensor; the customGrad at its start runs last in the backward
    // and reads how much memory the gradients of the 30 ops still hold.
    let bytesAtEnd = 0;
    const probe = tf.customGrad(((x: tf.Tensor) => ({
      value: tf.clone(x),
      gradFunc: (dy: tf.Tensor) => {
        bytesAtEnd = tf.memory().numBytes;
        return dy;
      },
    })) as never) as unknown as (x: tf.Tensor) => tf.Tensor;
    const x = uni(4, [256, 256]);
    const run = () =>
      tf.tidy(() => {
        const g = tf.grad((v: tf.Tensor) => {
          let h = probe(v);
          for (let i = 0; i < 30; i++) h = tf.sin(h);
          return tf.sum(h) as tf.Scalar;
        })(x);
        return Array.from(g.dataSync());
      });
    const ours = run();
    const oursBytes = bytesAtEnd;
    const theirs = withStock(run);
    expect(ours).toEqual(theirs);
    const tensorBytes = 256 * 256 * 4;
    // tfjs holds the 30 used gradients on top; ours about none of them.
    expect(bytesAtEnd - oursBytes).toBeGreaterThan(25 * tensorBytes);
  });

  it('keeps the caller\'s dy and errors as tfjs does', () => {
    const x = tf.tensor1d([1, 2]);
    const dy = tf.tensor1d([3, 4]);
    const { grads } = tf.engine().gradients(() => tf.mul(x, 2), [x], dy);
    expect(Array.from(grads[0]!.dataSync())).toEqual([6, 8]);
    expect(dy.isDisposed).toBe(false);
    expect(() => tf.grad(() => tf.scalar(1))(x)).toThrow(/Cannot compute gradient of y=f\(x\)/);
  });

  it('frees the tape when f or the backward throws, outermost or nested (tfjs keeps the saved tensors)', () => {
    const x = uni(4, [3]);
    const before = tf.memory().numTensors;
    const chain = (a: tf.Tensor) => {
      let y = a;
      for (let i = 0; i < 20; i++) y = tf.tanh(tf.mul(y, y)); // Tanh saves its input and output
      return y;
    };
    expect(() => tf.grads((a) => {
      chain(a);
      throw new Error('user error in f');
    })([x])).toThrow(/user error in f/);
    // The backward throws: a gradient function fails half-way.
    // tfjs types every argument of f as Tensor | GradSaveFunc; the one given here is a tensor.
    const failing = tf.customGrad((a) => ({ value: tf.mul(a as tf.Tensor, 1), gradFunc: () => { throw new Error('bad gradient'); } }));
    expect(() => tf.grads((a) => tf.sum(failing(chain(a))))([x])).toThrow(/bad gradient/);
    // Nested: the inner gradient throws, the outer catches it and finishes; all freed at the end.
    const g = tf.grads((a) => {
      try {
        tf.grads((b) => {
          chain(b);
          throw new Error('inner');
        })([a]);
      } catch { /* the outer carries on */ }
      return tf.sum(chain(a));
    })([x]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    expect(withStock(() => {
      try {
        tf.grads((a) => {
          chain(a);
          throw new Error('stock');
        })([x]);
      } catch { /* measured below */ }
      return tf.memory().numTensors - before;
    })).toBeGreaterThan(0);
    // The stock backward's leftovers are on its abandoned tape; free them for the next tests.
    const leftover = (tf.engine() as unknown as { state: { activeTape: { saved?: tf.Tensor[] }[] | null } }).state.activeTape;
    for (const n of leftover ?? []) tf.dispose(n.saved ?? []);
    (tf.engine() as unknown as { state: { activeTape: unknown } }).state.activeTape = null;
    x.dispose();
  });
});

import { describe, it, expect } from 'vitest';
import { tf, GradientInnerOptimizer, valueAndGradsOf, stopGradient, ArrayDataset, type Params } from '../../src/index.js';

// loss(v) = Σ (w·x − 1)², with x a tensor the outer level differentiates w.r.t.
const quad = (x: tf.Tensor) => (v: Params) => tf.sum(tf.square(tf.sub(tf.mul(v.w!, x), 1))) as tf.Scalar;

describe('inner optimiser', () => {
  it('SGD takes exact steps', () => {
    const x = tf.tensor1d([2]);
    const opt = new GradientInnerOptimizer({ kind: 'sgd', steps: 2, lr: 0.1 });
    const r = opt.minimize(quad(x), { w: tf.tensor1d([0]) }, { differentiable: false });
    // g = 2(wx−1)x: w1 = 0 − 0.1·(−4) = 0.4; g = 2(0.8−1)·2 = −0.8 → w2 = 0.48
    expect(r.vars.w!.dataSync()[0]).toBeCloseTo(0.48, 6);
    expect(r.losses.map((l) => l.dataSync()[0]!)).toEqual([1, expect.closeTo(0.04, 6)]);
  });

  it('differentiates through the update (second order) unless first-order', () => {
    // outer(x) = w1(x) with w1 = w0 − lr·2(w0·x − 1)·x, w0 = 0 → w1 = 2·lr·x; d w1/dx = 2·lr.
    const lr = 0.1;
    const outer = (firstOrder: boolean) =>
      tf.grad((x: tf.Tensor) => {
        const opt = new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr, firstOrder });
        return tf.sum(opt.minimize(quad(x), { w: tf.zeros([1]) }, { differentiable: true }).vars.w!);
      })(tf.tensor1d([3]));
    expect(outer(false).dataSync()[0]).toBeCloseTo(2 * lr, 5);
    expect(outer(true).dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('Adam steps match the closed form and stay differentiable', () => {
    const x = tf.tensor1d([2]);
    const opt = new GradientInnerOptimizer({ kind: 'adam', steps: 1, lr: 0.01 });
    const r = opt.minimize(quad(x), { w: tf.tensor1d([0]) }, { differentiable: false });
    // first Adam step moves by lr·sign(g) (up to ε)
    expect(r.vars.w!.dataSync()[0]).toBeCloseTo(0.01, 5);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(new GradientInnerOptimizer({ kind: 'adam', steps: 2, lr: 0.01 }).minimize(quad(xx), { w: tf.tensor1d([0.3]) }, { differentiable: true }).vars.w!))(x);
    expect(Number.isFinite(g.dataSync()[0]!)).toBe(true);
  });

  it('a differentiable Adam step stays finite where a variable gets exactly zero gradient, and takes the plain step', () => {
    // y = x·W (W [1, 2]); the loss reads only y[:, 0], so W's column 1 gets exactly zero gradient
    // (as an HNN's unused field output): its v is 0, where d√v/dv is infinite.
    const loss = (x: tf.Tensor) => (v: Params) => tf.sum(tf.square(tf.sub(tf.slice(tf.matMul(x as tf.Tensor2D, v.w as tf.Tensor2D), [0, 0], [-1, 1]), 1))) as tf.Scalar;
    const opt = new GradientInnerOptimizer({ kind: 'adam', steps: 2, lr: 0.01 });
    const x = tf.tensor2d([[2], [1]]);
    const w0 = tf.tensor2d([[0.3, 0.5]]);
    const plain = opt.minimize(loss(x), { w: w0 }, { differentiable: false }).vars.w!.dataSync();
    const diff = opt.minimize(loss(x), { w: w0 }, { differentiable: true }).vars.w!.dataSync();
    expect(Array.from(diff)).toEqual(Array.from(plain));
    // d/dx of the tailored W: finite (it was NaN: 0·∞ in the backward of √v).
    const g = tf.grad((xx: tf.Tensor) => tf.sum(opt.minimize(loss(xx), { w: w0 }, { differentiable: true }).vars.w!))(x);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('nsgd steps by lr along the gradient direction, per example, whatever the loss scale; differentiable', () => {
    // Per-example vars [2, 2]: loss = Σ a·(w − x)², a = 1 and 100: the same step either way.
    const x = tf.tensor2d([[3, 4], [0, -1]]);
    const w0 = tf.zeros([2, 2]);
    const step = (a: number) => {
      const loss = (v: Record<string, tf.Tensor>) => tf.mul(a, tf.sum(tf.square(tf.sub(v['w']!, x)))) as tf.Scalar;
      return Array.from(new GradientInnerOptimizer({ kind: 'nsgd', steps: 1, lr: 0.5 }).minimize(loss, { w: w0 }, { differentiable: false, perExample: true }).vars['w']!.dataSync());
    };
    // Example 0's gradient points along −(3, 4), example 1's along −(0, −1): each moves 0.5 towards x.
    const expected = [0.3, 0.4, 0, -0.5];
    step(1).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    step(100).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    // Without perExample the norm is global: the whole [2, 2] moves 0.5 in total.
    const glob = Array.from(new GradientInnerOptimizer({ kind: 'nsgd', steps: 1, lr: 0.5 }).minimize(
      (v) => tf.sum(tf.square(tf.sub(v['w']!, x))) as tf.Scalar, { w: w0 }, { differentiable: false }).vars['w']!.dataSync());
    expect(Math.hypot(...glob)).toBeCloseTo(0.5, 5);
    // The meta-gradient through the normalised step matches central finite differences in x.
    const f = (xx: tf.Tensor) => tf.sum(tf.square(new GradientInnerOptimizer({ kind: 'nsgd', steps: 1, lr: 0.5 }).minimize(
      (v) => tf.sum(tf.square(tf.sub(v['w']!, tf.mul(xx, tf.tensor2d([[1, 2], [3, 1]]))))) as tf.Scalar, { w: tf.tensor2d([[0.2, -0.1], [0.4, 0.3]]) }, { differentiable: true, perExample: true }).vars['w']!));
    const xs = tf.tensor1d([0.7]);
    const g = tf.grad(f)(xs).dataSync()[0]!;
    const h = 1e-2;
    const fd = (f(tf.tensor1d([0.7 + h])).dataSync()[0]! - f(tf.tensor1d([0.7 - h])).dataSync()[0]!) / (2 * h);
    expect(g).toBeCloseTo(fd, 2);
    expect(Math.abs(g)).toBeGreaterThan(1e-3);
    // An example whose gradient is exactly 0 does not move, and gives no NaN at second order.
    const zero = (xx: tf.Tensor) => tf.sum(new GradientInnerOptimizer({ kind: 'nsgd', steps: 1, lr: 0.5 }).minimize(
      (v) => tf.sum(tf.square(tf.mul(v['w']!, tf.mul(xx, tf.tensor2d([[1], [0]]))))) as tf.Scalar, { w: tf.tensor2d([[0.5], [0.5]]) }, { differentiable: true, perExample: true }).vars['w']!);
    expect(Array.from(tf.grad(zero)(xs).dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('plain tailoring keeps numTensors flat over many steps', () => {
    const x = tf.tensor1d([2, 1]);
    const w = tf.tensor1d([0, 0]);
    for (const kind of ['sgd', 'adam', 'nsgd'] as const) {
      const run = (steps: number) => {
        const before = tf.memory().numTensors;
        const r = new GradientInnerOptimizer({ kind, steps, lr: 0.01 }).minimize(quad(x), { w }, { differentiable: false });
        const grew = tf.memory().numTensors - before;
        tf.dispose([...Object.values(r.vars), ...r.losses]);
        return grew - steps; // minus the kept loss scalars
      };
      expect(run(100)).toBe(run(5));
    }
  });

  it('onStep sees each iterate\'s loss, and a throwing hook stops the loop without leaking', () => {
    const x = tf.tensor1d([2]);
    const w = tf.tensor1d([0]);
    for (const kind of ['sgd', 'adam'] as const) {
      const seen: [number, number][] = [];
      const opt = new GradientInnerOptimizer({ kind, steps: 3, lr: 0.1 });
      const r = opt.minimize(quad(x), { w }, { differentiable: false, onStep: (k, l) => seen.push([k, l.dataSync()[0]!]) });
      expect(seen).toEqual(r.losses.map((l, k) => [k, l.dataSync()[0]!]));
      tf.dispose([...Object.values(r.vars), ...r.losses]);
      const before = tf.memory().numTensors;
      const stop = (k: number) => {
        if (k === 2) throw new Error('stop at 2');
      };
      expect(() => opt.minimize(quad(x), { w }, { differentiable: false, onStep: stop })).toThrow('stop at 2');
      expect(tf.memory().numTensors).toBe(before);
      expect(w.dataSync()[0]).toBe(0);
    }
  });

  it('minimizeInterruptibly: minimize\'s numbers bit for bit; an abort arriving as an event stops it mid-loop, freeing all it made', async () => {
    const x = tf.tensor1d([2, 1]);
    const w = tf.tensor1d([0.5, -0.5]);
    const read = (r: { vars: Params; losses: tf.Scalar[] }) => {
      const out = [...r.vars.w!.dataSync(), ...r.losses.map((l) => l.dataSync()[0]!)];
      tf.dispose([...Object.values(r.vars), ...r.losses]);
      return out;
    };
    for (const kind of ['sgd', 'adam', 'nsgd'] as const) {
      const opt = new GradientInnerOptimizer({ kind, steps: 7, lr: 0.05 });
      // everyMs 0: a turn of the event loop after every step, the most a pause could disturb.
      const r = await opt.minimizeInterruptibly(quad(x), { w }, { perExample: true }, new AbortController().signal, 0);
      expect(read(r!)).toEqual(read(opt.minimize(quad(x), { w }, { differentiable: false, perExample: true })));

      // The abort is a macrotask (as a signal handler is): only a loop that yields ever sees it.
      const before = tf.memory().numTensors;
      const ctl = new AbortController();
      let taken = 0;
      const long = new GradientInnerOptimizer({ kind, steps: 100_000, lr: 1e-6 });
      const stopped = long.minimizeInterruptibly(quad(x), { w }, { onStep: (k) => void (taken = k + 1) }, ctl.signal, 0);
      setImmediate(() => ctl.abort());
      expect(await stopped).toBeUndefined();
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThan(100);
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(w.dataSync())).toEqual([0.5, -0.5]);
    }
  });

  it('stopGradient is the identity with zero gradient', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor1d([3]));
    expect(g.dataSync()[0]).toBe(3);
    const { value, grads } = valueAndGradsOf((v) => tf.sum(tf.square(v.a!)) as tf.Scalar, { a: tf.tensor1d([1, 2]) });
    expect(value.dataSync()[0]).toBe(5);
    expect(Array.from(grads.a!.dataSync())).toEqual([2, 4]);
  });
});

describe('ArrayDataset', () => {
  const ds = new ArrayDataset({
    name: 'seq', obsShape: [1], seqLength: 2,
    train: { obs: Float32Array.from({ length: 10 }, (_, i) => i), n: 5 },
    test: { obs: new Float32Array(2), n: 1 },
  });
  it('shuffles by seed, deterministically, and batches', async () => {
    const order = (seed: number) => ds.batchIndices('train', { batchSize: 2, shuffle: true, seed }).flat();
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    expect([...order(1)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(ds.batchIndices('train', { batchSize: 2, dropLast: true }).length).toBe(2);
    const b = ds.gather('train', [3, 0]);
    expect(Array.from(b.obs.dataSync())).toEqual([6, 7, 0, 1]);
  });
  it('refuses arrays of the wrong size', () => {
    expect(() => new ArrayDataset({ name: 'bad', obsShape: [2], seqLength: 2, train: { obs: new Float32Array(3), n: 1 }, test: { obs: new Float32Array(0), n: 0 } })).toThrow(/train\.obs has 3 values, expected 1 × 4/);
  });
});

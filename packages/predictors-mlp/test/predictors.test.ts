import { describe, expect, it } from 'vitest';
import {
  tf, createContainer, findFactory, TOKENS, GradientInnerOptimizer, predictSequence, makeWindow, disposeParams, examples, metaLoss,
  type Embedding, type MetaSetup, type Params, type Predictor, type State, type TailorMode,
} from '@noether/core';
import { VectorFieldPredictor, pretrain, fieldLoss, register, integrate, type Integrator } from '../src/index.js';

// Small nets keep the tests fast; the 200-wide default is checked for shapes only.
const small = (kind: 'mlp' | 'hnn', dt = 0.1, integrator: Integrator = 'euler') => new VectorFieldPredictor(kind, { dt, hidden: 16, integrator });

/** Spring data: dq/dt = 2p, dp/dt = −2q on a few random states. */
function springField(n: number): { x: tf.Tensor; dxdt: tf.Tensor } {
  const xs: number[] = [];
  const ds: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = Math.sin(1.7 * i + 0.3);
    const p = Math.cos(2.3 * i);
    xs.push(q, p);
    ds.push(2 * p, -2 * q);
  }
  return { x: tf.tensor2d(xs, [n, 2]), dxdt: tf.tensor2d(ds, [n, 2]) };
}

describe('VectorFieldPredictor', () => {
  it('has the HNN shapes: 2→200→200→2, no bias on the last layer', () => {
    const p = new VectorFieldPredictor('mlp', { dt: 0.1 });
    const th = p.init(0);
    expect(Object.fromEntries(Object.entries(th).map(([k, t]) => [k, t.shape]))).toEqual({
      'l0/w': [2, 200], 'l0/b': [200], 'l1/w': [200, 200], 'l1/b': [200], 'l2/w': [200, 2],
    });
    const s = p.step(th, { obs: tf.ones([3, 2]) }, { t: 1 });
    expect(s.obs.shape).toEqual([3, 2]);
    disposeParams(th);
  });

  it('initialises weights orthogonally', () => {
    const th = new VectorFieldPredictor('mlp', { dt: 0.1 }).init(3);
    const w = th['l1/w']!;
    const wtw = tf.matMul(w, w, true, false).arraySync() as number[][];
    for (let i = 0; i < 200; i += 37) for (let j = 0; j < 200; j += 41) expect(wtw[i]![j]!).toBeCloseTo(i === j ? 1 : 0, 4);
    // [2, 200]: rows orthonormal.
    const w0 = th['l0/w']!;
    const g = tf.matMul(w0, w0, false, true).arraySync() as number[][];
    expect(g[0]![0]!).toBeCloseTo(1, 5);
    expect(g[0]![1]!).toBeCloseTo(0, 5);
    disposeParams(th);
  });

  it('steps x + f(x)·dt', () => {
    const p = small('mlp', 0.25);
    const th = p.init(1);
    const x = tf.tensor2d([[0.3, -0.2], [1, 0.5]]);
    const next = p.step(th, { obs: x }, { t: 1 }).obs;
    const want = tf.add(x, tf.mul(p.field(th, x), 0.25));
    expect(Array.from(next.dataSync())).toEqual(Array.from(want.dataSync()));
  });

  it("integrator 'rk4' steps x + dt/6·(k1 + 2k2 + 2k3 + k4) with the learned field, for the MLP and the HNN", () => {
    for (const kind of ['mlp', 'hnn'] as const) {
      const p = small(kind, 0.25, 'rk4');
      const th = p.init(1);
      const x = tf.tensor2d([[0.3, -0.2], [1, 0.5]]);
      const f = (y: tf.Tensor) => p.field(th, y);
      const k1 = f(x);
      const k2 = f(tf.add(x, tf.mul(k1, 0.125)));
      const k3 = f(tf.add(x, tf.mul(k2, 0.125)));
      const k4 = f(tf.add(x, tf.mul(k3, 0.25)));
      const want = tf.add(x, tf.mul(tf.addN([k1, tf.mul(k2, 2), tf.mul(k3, 2), k4]), 0.25 / 6)).arraySync() as number[][];
      const got = p.step(th, { obs: x }, { t: 1 }).obs.arraySync() as number[][];
      got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 6)));
      disposeParams(th);
    }
  });

  it('RK4 one-step error is O(dt^5), Euler O(dt^2), with an exact field (harmonic oscillator)', () => {
    // A linear net with weights I, I, A computes the exact field of q̇ = p, ṗ = −q; one step from x
    // should be the rotation by dt. Halving dt divides the local error by 2^5 (RK4) and 2^2 (Euler).
    const A = [[0, -1], [1, 0]];
    const exactParams: Params = {
      'l0/w': tf.eye(2), 'l0/b': tf.zeros([2]), 'l1/w': tf.eye(2), 'l1/b': tf.zeros([2]), 'l2/w': tf.tensor2d(A),
    };
    const x0 = [0.6, -0.8];
    const error = (integrator: Integrator, dt: number) => {
      const p = new VectorFieldPredictor('mlp', { dt, hidden: 2, activation: 'linear', integrator });
      const [q, pp] = p.step(exactParams, { obs: tf.tensor2d([x0]) }, { t: 1 }).obs.dataSync();
      const c = Math.cos(dt), s = Math.sin(dt);
      return Math.hypot(q! - (c * x0[0]! + s * x0[1]!), pp! - (-s * x0[0]! + c * x0[1]!));
    };
    const order = (integrator: Integrator, dt: number) => Math.log2(error(integrator, dt) / error(integrator, dt / 2));
    // dt 0.8 → 0.4 → 0.2 keeps RK4's error (≥ 3e-6) far above float32 rounding (~1e-7).
    for (const dt of [0.8, 0.4]) {
      expect(order('rk4', dt)).toBeGreaterThan(4.7);
      expect(order('rk4', dt)).toBeLessThan(5.3);
      expect(order('euler', dt)).toBeGreaterThan(1.8);
      expect(order('euler', dt)).toBeLessThan(2.2);
    }
    expect(error('rk4', 0.1)).toBeLessThan(1e-6);
    expect(error('euler', 0.1)).toBeGreaterThan(4e-3);
    // integrate() is the same step for any field
    const f = (y: tf.Tensor) => tf.matMul(y, tf.tensor2d(A));
    const r = integrate(f, tf.tensor2d([x0]), 0.4, 'rk4').dataSync();
    expect(Math.hypot(r[0]! - (Math.cos(0.4) * 0.6 + Math.sin(0.4) * -0.8), r[1]! - (-Math.sin(0.4) * 0.6 + Math.cos(0.4) * -0.8))).toBeCloseTo(error('rk4', 0.4), 6);
    disposeParams(exactParams);
  });

  it('HNN field is the symplectic gradient of H and conserves its own H under small steps', () => {
    const p = small('hnn', 1e-3);
    const th = p.init(2);
    const x = tf.tensor2d([[0.4, -0.7], [1.1, 0.2]]);
    // Symplectic gradient by finite differences of H.
    const f = p.field(th, x).arraySync() as number[][];
    const H = (q: number, pp: number) => p.hamiltonian(th, tf.tensor2d([[q, pp]])).dataSync()[0]!;
    const e = 1e-2;
    const [q, pp] = [0.4, -0.7];
    expect(f[0]![0]!).toBeCloseTo((H(q, pp + e) - H(q, pp - e)) / (2 * e), 3);
    expect(f[0]![1]!).toBeCloseTo(-(H(q + e, pp) - H(q - e, pp)) / (2 * e), 3);
    // Along 300 Euler steps H drifts only at O(dt); the plain MLP's own output 0 moves much more.
    const drift = (pred: VectorFieldPredictor, params: Params) => {
      let s: State = { obs: x };
      const h0 = pred.hamiltonian(params, x).dataSync();
      for (let t = 0; t < 300; t++) s = { obs: tf.tidy(() => pred.step(params, s, { t }).obs) };
      const h1 = pred.hamiltonian(params, s.obs).dataSync();
      return Math.max(...Array.from(h0, (v, i) => Math.abs(v - h1[i]!)));
    };
    const mlp = small('mlp', 1e-3);
    const hnnDrift = drift(p, th);
    expect(hnnDrift).toBeLessThan(1e-3);
    expect(drift(mlp, mlp.init(2))).toBeGreaterThan(50 * hnnDrift);
  });

  it.each(['euler', 'rk4'] as const)('mode cn (per-example offsets) equals tailoring each sequence alone in mode all (%s)', (integrator) => {
    const p = small('mlp', 0.1, integrator);
    const th = p.init(4);
    const energy: Embedding = { name: 'e', arity: 1, dim: 1, init: () => ({}), apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true) };
    const obs = tf.tensor3d([[[1, 0], [0.9, -0.4], [0.7, -0.7]], [[0, 0.5], [0.2, 0.45], [0.35, 0.3]]]);
    const lr = 0.05;
    const run = (o: tf.Tensor, mode: 'all' | 'cn', l: number) => tf.tidy(() => {
      const w = makeWindow(p, { obs: o }, { contextLength: 1 });
      return predictSequence({ predictor: p, theta: th, embedding: energy, phi: {}, inner: new GradientInnerOptimizer({ lr: l }), form: '2a', mode }, w.seq, { differentiable: false })
        .tailored.preds[1]!.arraySync() as number[][];
    });
    // The same lr: core steps per-example variables as if each sequence were alone (no × B).
    const batched = run(obs, 'cn', lr);
    for (let b = 0; b < 2; b++) {
      const alone = run(tf.slice(obs, [b, 0, 0], [1, -1, -1]), 'all', lr)[0]!;
      expect(batched[b]![0]!).toBeCloseTo(alone[0]!, 5);
      expect(batched[b]![1]!).toBeCloseTo(alone[1]!, 5);
    }
    // and tailoring did something
    const untailored = run(obs, 'cn', 0);
    expect(Math.abs(untailored[0]![0]! - batched[0]![0]!)).toBeGreaterThan(1e-5);
  });
});

/**
 * The meta-gradient ∂/∂θ of metaLoss (one differentiable inner SGD step, then the rollout loss)
 * against Richardson-extrapolated central differences, on the two largest entries of a few
 * tensors; also checks the second-order terms matter (the first-order meta-gradient misses them).
 */
function checkMetaGradient(kind: 'mlp' | 'hnn', mode: TailorMode, integrator: Integrator, lr: number): void {
  const predictor = new VectorFieldPredictor(kind, { dt: 0.3, hidden: 4, integrator });
  const embedding = new examples.MlpEmbedding(2, 3, 1);
  const theta = predictor.init(3);
  const phi = embedding.init(5);
  const batch = examples.oscillatorDataset({ nTrain: 2, nTest: 1, seqLength: 4, seed: 7 }).gather('train', [0, 1]);
  const setup = (firstOrder: boolean): MetaSetup => ({
    predictor, embedding, mode: 'noether', tailorMode: mode, form: '2a', lrTheta: 1, lrPhi: 1,
    inner: new GradientInnerOptimizer({ lr, firstOrder }),
  });
  const loss = (th: Params) => metaLoss(setup(false), th, phi, batch, 0);
  const picks = ['l0/w', 'l1/w', 'l2/w'];
  const grads = (firstOrder: boolean) => tf.tidy(() =>
    tf.grads((...ts: tf.Tensor[]) => metaLoss(setup(firstOrder), { ...theta, ...Object.fromEntries(picks.map((n, i) => [n, ts[i]!])) }, phi, batch, 0))(picks.map((n) => theta[n]!))
      .map((g) => Array.from(g.dataSync())));
  const got = grads(false);
  const first = grads(true);
  const h = 3e-3;
  let secondOrderMatters = 0;
  picks.forEach((name, k) => {
    const base = theta[name]!.dataSync();
    const top = got[k]!.map((v, i) => [Math.abs(v), i] as const).sort((a, b) => b[0] - a[0]).slice(0, 2);
    for (const [, i] of top) {
      const at = (d: number) => tf.tidy(() => {
        const v = base.slice();
        v[i] = v[i]! + d;
        return loss({ ...theta, [name]: tf.tensor(v, theta[name]!.shape) }).dataSync()[0]!;
      });
      const fd = (4 * ((at(h) - at(-h)) / (2 * h)) - (at(2 * h) - at(-2 * h)) / (4 * h)) / 3;
      const tol = 5e-3 * Math.abs(fd) + 2e-5;
      expect(Math.abs(got[k]![i]! - fd), `${name}[${i}]: tfjs ${got[k]![i]}, finite differences ${fd}`).toBeLessThan(tol);
      if (Math.abs(first[k]![i]! - fd) > 2 * tol) secondOrderMatters++;
    }
  });
  expect(secondOrderMatters).toBeGreaterThan(0);
  disposeParams(theta, phi);
}

describe('meta-gradient through one inner step (second order), RK4 steps', () => {
  it("MLP, mode 'cn' (per-trajectory offsets, as discover): matches central differences", () => checkMetaGradient('mlp', 'cn', 'rk4', 2));
  it("MLP, mode 'all': matches central differences", () => checkMetaGradient('mlp', 'all', 'rk4', 1));
  it("HNN, mode 'all': matches central differences", () => checkMetaGradient('hnn', 'all', 'rk4', 1));
});

describe('pretrain', () => {
  it('lowers the dx/dt loss, reports progress, is deterministic and leaks nothing', () => {
    const p = small('mlp');
    const data = springField(32);
    const th = p.init(5);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const a = pretrain(p, th, data, { steps: 60, lr: 1e-2, onProgress: (r) => seen.push(r.step), progressEvery: 25 });
    expect(seen).toEqual([25, 50, 60]);
    expect(a.losses).toHaveLength(61);
    expect(a.losses[60]!).toBeLessThan(0.2 * a.losses[0]!);
    // only the returned params stay alive
    expect(tf.memory().numTensors - before).toBe(Object.keys(a.params).length);
    const b = pretrain(p, th, data, { steps: 60, lr: 1e-2 });
    expect(b.losses).toEqual(a.losses);
    expect(Array.from(b.params['l1/w']!.dataSync())).toEqual(Array.from(a.params['l1/w']!.dataSync()));
    const l = fieldLoss(p, a.params, data);
    expect(l.dataSync()[0]).toBeCloseTo(a.losses[60]!, 6);
  });

  it('trains the HNN through tf.grads (second order) too', () => {
    const p = small('hnn');
    const data = springField(32);
    const r = pretrain(p, p.init(6), data, { steps: 60, lr: 1e-2, weightDecay: 1e-5 });
    expect(r.losses[60]!).toBeLessThan(0.2 * r.losses[0]!);
  });

  it('refuses mismatched data', () => {
    const p = small('mlp');
    expect(() => pretrain(p, p.init(0), { x: tf.zeros([4, 2]), dxdt: tf.zeros([3, 2]) })).toThrow(/dxdt/);
  });
});

describe('register', () => {
  it('registers mlp and hnn factories with validated options', () => {
    const c = createContainer(register);
    const mlp = findFactory<Predictor>(c, TOKENS.PredictorFactory, 'mlp', 'predictor').create({ dt: 0.1, hidden: 8 });
    expect(mlp.name).toBe('mlp');
    expect(mlp.tailor).toBe('all');
    const hnn = findFactory<Predictor>(c, TOKENS.PredictorFactory, 'hnn', 'predictor').create({ type: 'hnn', dt: 0.1 });
    expect(hnn.name).toBe('hnn');
    expect(() => findFactory<Predictor>(c, TOKENS.PredictorFactory, 'mlp', 'predictor').create({ hidden: 8 })).toThrow(/dt/);
    expect(() => findFactory<Predictor>(c, TOKENS.PredictorFactory, 'mlp', 'predictor').create({ dt: 0.1, hiden: 8 })).toThrow(/hiden/);
    const rk4 = findFactory<Predictor>(c, TOKENS.PredictorFactory, 'hnn', 'predictor').create({ dt: 0.1, integrator: 'rk4' }) as VectorFieldPredictor;
    expect(rk4.options.integrator).toBe('rk4');
    expect((mlp as VectorFieldPredictor).options.integrator).toBe('euler');
    expect(() => findFactory<Predictor>(c, TOKENS.PredictorFactory, 'mlp', 'predictor').create({ dt: 0.1, integrator: 'rk2' })).toThrow(/predictor\.integrator: integrator .* must be one of euler, rk4/);
    expect(() => new VectorFieldPredictor('mlp', { dt: 0.1, integrator: 'rk45' as Integrator })).toThrow(/integrator must be one of euler, rk4, got rk45/);
  });
});

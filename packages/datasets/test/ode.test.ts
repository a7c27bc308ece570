import { describe, it, expect } from 'vitest';
import {
  rk45, generateSpring, generatePendulum, generateHamiltonian, generateHamiltonianInterruptibly, GenerationInterrupted, SPRING, PENDULUM, trajectoryDataset, flatPairs, linspace, finiteDifferences,
} from '../src/index.js';
import { tf } from '@noether/core';

describe('rk45 (Dormand–Prince)', () => {
  it('matches the exact solution of y\' = −y and lands on every requested time', () => {
    const t = linspace(0, 3, 7);
    const y = rk45((_t, y, out) => { out[0] = -y[0]!; }, [1], t);
    t.forEach((ti, i) => expect(Math.abs(y[i]! - Math.exp(-ti))).toBeLessThan(1e-9));
  });

  it('rejects a non-increasing time grid', () => {
    expect(() => rk45((_t, y, o) => { o[0] = y[0]!; }, [1], [0, 1, 1])).toThrow(/strictly increasing \(index 2\)/);
  });
});

describe('ideal spring and pendulum (HNN conventions)', () => {
  for (const [sys, gen] of [[SPRING, generateSpring], [PENDULUM, generatePendulum]] as const) {
    it(`${sys.name}: shapes, split, radius range, conserved energy, true derivatives`, () => {
      const set = gen({ seed: 3 });
      expect(set.train.length).toBe(25);
      expect(set.test.length).toBe(25);
      let worst = 0;
      for (const tr of [...set.train, ...set.test]) {
        expect(tr.x.length).toBe(2 * sys.points);
        expect(tr.t[0]).toBe(0);
        expect(tr.t[sys.points - 1]).toBeCloseTo(3, 12);
        const r = Math.hypot(tr.x[0]!, tr.x[1]!);
        expect(r).toBeGreaterThanOrEqual(sys.radius[0]);
        expect(r).toBeLessThanOrEqual(sys.radius[1]);
        const h0 = sys.hamiltonian(tr.x[0]!, tr.x[1]!);
        for (let j = 0; j < sys.points; j++) {
          worst = Math.max(worst, Math.abs(sys.hamiltonian(tr.x[2 * j]!, tr.x[2 * j + 1]!) - h0));
          const [dq, dp] = sys.dynamics(tr.x[2 * j]!, tr.x[2 * j + 1]!);
          expect(tr.dxdt![2 * j]).toBe(dq);
          expect(tr.dxdt![2 * j + 1]).toBe(dp);
        }
      }
      expect(worst).toBeLessThan(1e-8);
      expect(worst).toBeGreaterThan(0); // a real integration, not a closed form
    });
  }

  it('spring trajectories follow the closed-form rotation q(t) = r sin(2t + φ)', () => {
    const tr = generateSpring({ seed: 9, trajectories: 2 }).train[0]!;
    const [q0, p0] = [tr.x[0]!, tr.x[1]!];
    for (let j = 0; j < 30; j++) {
      const t = tr.t[j]!;
      expect(tr.x[2 * j]!).toBeCloseTo(q0 * Math.cos(2 * t) + p0 * Math.sin(2 * t), 8);
      expect(tr.x[2 * j + 1]!).toBeCloseTo(p0 * Math.cos(2 * t) - q0 * Math.sin(2 * t), 8);
    }
  });

  it('is deterministic per seed; noise is optional and leaves the clean states and targets alone', () => {
    const a = generatePendulum({ seed: 5 });
    const b = generatePendulum({ seed: 5 });
    const c = generatePendulum({ seed: 6 });
    expect(Array.from(a.test[3]!.x)).toEqual(Array.from(b.test[3]!.x));
    expect(a.test[3]!.x[0]).not.toBe(c.test[3]!.x[0]);
    const noisy = generatePendulum({ seed: 5, noiseStd: 0.1 });
    const diff = Array.from(noisy.train[0]!.x, (v, i) => v - a.train[0]!.x[i]!);
    const std = Math.sqrt(diff.reduce((s, v) => s + v * v, 0) / diff.length);
    expect(std).toBeGreaterThan(0.05);
    expect(std).toBeLessThan(0.2);
    expect(Array.from(noisy.train[0]!.dxdt!)).toEqual(Array.from(a.train[0]!.dxdt!));
  });

  it('generateHamiltonianInterruptibly: the same trajectories; an abort arriving as an event stops it between two', async () => {
    const opts = { seed: 5, noiseStd: 0.1, trajectories: 9, trainCount: 4 };
    const seen: number[] = [];
    const set = await generateHamiltonianInterruptibly(PENDULUM, { ...opts, onProgress: (done, total) => seen.push(done / total) });
    expect(set).toEqual(generateHamiltonian(PENDULUM, opts));
    expect(seen).toEqual(Array.from({ length: 9 }, (_, i) => (i + 1) / 9));
    // The abort is a macrotask (as a signal handler is): only a loop that yields between trajectories
    // sees it, about 50 ms in; all 100 000 take half a minute.
    const ctl = new AbortController();
    let done = 0;
    const stopped = generateHamiltonianInterruptibly(SPRING, { trajectories: 100_000, signal: ctl.signal, onProgress: (d) => void (done = d) });
    setImmediate(() => ctl.abort());
    await expect(stopped).rejects.toBeInstanceOf(GenerationInterrupted);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(20_000);
  });

  it('refuses trajectories built in code whose arrays disagree or hold non-finite values', () => {
    const ok = { t: Float64Array.of(0, 0.1, 0.2), x: Float64Array.of(1, 0, 0.9, 0.1, 0.8, 0.2), id: 'a' };
    const set = (tr: Partial<typeof ok>) => ({ name: 'mine', stateNames: ['q', 'p'], train: [{ ...ok, ...tr }], test: [ok] });
    expect(trajectoryDataset(set({})).seqLength).toBe(3);
    expect(() => trajectoryDataset(set({ x: Float64Array.of(1, 0, 0.9, 0.1, NaN, 0.2) }))).toThrow(/dataset 'mine': trajectory a: x\[4\] is NaN/);
    expect(() => trajectoryDataset(set({ x: Float64Array.of(1, 0, 0.9, 0.1, 0.8) }))).toThrow(/x has 5 values, not a multiple of the 2 state dims/);
    expect(() => trajectoryDataset(set({ t: Float64Array.of(0, 0.1) }))).toThrow(/t has 2 times but x has 3 states/);
    expect(() => finiteDifferences({ ...ok, t: Float64Array.of(0, 0.1, 0.1) }, 2)).toThrow(/times must increase, but t\[2\] = 0.1 follows t\[1\] = 0.1/);
    expect(() => finiteDifferences({ t: Float64Array.of(0), x: Float64Array.of(1, 2) }, 2)).toThrow(/1 sample\(s\); forward differences need at least 2/);
  });

  it('exposes an ArrayDataset and flat (x, dx/dt) pairs', async () => {
    const set = generateSpring({ seed: 1 });
    const ds = trajectoryDataset(set);
    expect(ds.obsShape).toEqual([2]);
    expect(ds.seqLength).toBe(30);
    expect(ds.size('train')).toBe(25);
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) {
      for await (const batch of ds.batches('train', { batchSize: 8, shuffle: true, seed: epoch })) {
        expect(batch.obs.shape.slice(1)).toEqual([30, 2]);
        batch.obs.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    const first = await ds.batches('test', { batchSize: 1 })[Symbol.asyncIterator]().next();
    expect((first.value!.obs.dataSync() as Float32Array)[1]).toBeCloseTo(set.test[0]!.x[1]!, 6);
    first.value!.obs.dispose();
    const flat = flatPairs(set.train, 2);
    expect(flat.n).toBe(25 * 30);
    expect(flat.dxdt[1]).toBeCloseTo(-2 * set.train[0]!.x[0]!, 6);
  });
});

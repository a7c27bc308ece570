// Trajectories of low-dimensional states (q, p, …) and the two views models need:
// fixed-length sequences as an ArrayDataset, and flat (x, dx/dt) pairs for MLP baselines.
import { ArrayDataset, Rng, type SequenceArray } from '@noether/core';

export interface Trajectory {
  /** Sample times, length T. */
  t: Float64Array;
  /** States, T × D row-major. */
  x: Float64Array;
  /** Time derivatives of the states, T × D (true ones when known, else finite differences). */
  dxdt?: Float64Array;
  /** Where it came from (trajectory id, file), for messages. */
  id?: string;
}

export interface TrajectorySet {
  name: string;
  /** Names of the D state dimensions, e.g. ['q', 'p']. */
  stateNames: string[];
  train: Trajectory[];
  test: Trajectory[];
}

export const trajectoryLength = (tr: Trajectory, dim: number): number => tr.x.length / dim;

/** Refuses a trajectory whose arrays disagree or hold non-finite values (built in code, not read from a
 * file: the file loaders already name file, line and column); `where` names the data set. */
export function checkTrajectory(tr: Trajectory, dim: number, where: string): void {
  const id = `${where}: trajectory ${tr.id ?? '(no id)'}`;
  if (tr.x.length % dim !== 0) throw new Error(`${id}: x has ${tr.x.length} values, not a multiple of the ${dim} state dims`);
  const T = tr.x.length / dim;
  if (tr.t.length !== T) throw new Error(`${id}: t has ${tr.t.length} times but x has ${T} states`);
  if (tr.dxdt && tr.dxdt.length !== tr.x.length) throw new Error(`${id}: dxdt has ${tr.dxdt.length} values, x has ${tr.x.length}`);
  for (const [name, a] of [['x', tr.x], ['t', tr.t], ['dxdt', tr.dxdt]] as const) {
    const bad = a ? a.findIndex((v) => !Number.isFinite(v)) : -1;
    if (bad >= 0) throw new Error(`${id}: ${name}[${bad}] is ${a![bad]}; states, times and derivatives must be finite`);
  }
  for (let i = 1; i < T; i++) {
    if (!(tr.t[i]! > tr.t[i - 1]!)) throw new Error(`${id}: times must increase, but t[${i}] = ${tr.t[i]} follows t[${i - 1}] = ${tr.t[i - 1]}`);
  }
}

/** The median of the time steps t[i+1] − t[i] over the given time axes (the upper median for an even count). */
export function medianStep(times: Float64Array[]): number {
  const steps = times.flatMap((t) => Array.from(t.subarray(1), (v, i) => v - t[i]!)).sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)]!;
}

/** Sequences as an ArrayDataset (obsShape [D], seqLength T); all trajectories must have the same length. */
export function trajectoryDataset(set: TrajectorySet): ArrayDataset {
  const d = set.stateNames.length;
  const all = [...set.train, ...set.test];
  if (all.length === 0) throw new Error(`dataset '${set.name}' has no trajectories`);
  for (const tr of all) checkTrajectory(tr, d, `dataset '${set.name}'`);
  const T = trajectoryLength(all[0]!, d);
  for (const tr of all) {
    const len = trajectoryLength(tr, d);
    if (len !== T) {
      throw new Error(
        `dataset '${set.name}': trajectories differ in length (${all[0]!.id ?? '#0'} has ${T}, ${tr.id ?? '?'} has ${len}); ` +
          'cut them into equal windows with windowTrajectories(…) first',
      );
    }
  }
  const pack = (trs: Trajectory[]): SequenceArray => {
    const obs = new Float32Array(trs.length * T * d);
    trs.forEach((tr, i) => obs.set(tr.x, i * T * d));
    return { obs, n: trs.length };
  };
  return new ArrayDataset({ name: set.name, obsShape: [d], seqLength: T, train: pack(set.train), test: pack(set.test) });
}

/** Windows of `length` consecutive samples (every `stride` samples) from each trajectory. */
export function windowTrajectories(trs: Trajectory[], dim: number, length: number, stride = length): Trajectory[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`window length must be a positive integer, got ${length}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`window stride must be a positive integer, got ${stride}`);
  const out: Trajectory[] = [];
  for (const tr of trs) {
    const T = trajectoryLength(tr, dim);
    for (let s = 0; s + length <= T; s += stride) {
      out.push({
        t: tr.t.slice(s, s + length),
        x: tr.x.slice(s * dim, (s + length) * dim),
        dxdt: tr.dxdt?.slice(s * dim, (s + length) * dim),
        id: `${tr.id ?? '?'}[${s}:${s + length}]`,
      });
    }
  }
  return out;
}

/** All (x, dx/dt) pairs of the trajectories, N × D each, for derivative-fitting baselines. */
export function flatPairs(trs: Trajectory[], dim: number): { x: Float32Array; dxdt: Float32Array; n: number } {
  const n = trs.reduce((a, tr) => a + trajectoryLength(tr, dim), 0);
  const x = new Float32Array(n * dim);
  const dxdt = new Float32Array(n * dim);
  let o = 0;
  for (const tr of trs) {
    if (!tr.dxdt) throw new Error(`trajectory ${tr.id ?? '?'} has no derivatives; use finiteDifferences(…) first`);
    x.set(tr.x, o);
    dxdt.set(tr.dxdt, o);
    o += tr.x.length;
  }
  return { x, dxdt, n };
}

/**
 * Forward differences (x[i+1] − x[i]) / (t[i+1] − t[i]) as HNN computes them for
 * real data: the result drops the last sample (T − 1 states with derivatives).
 */
export function finiteDifferences(tr: Trajectory, dim: number): Trajectory {
  checkTrajectory(tr, dim, 'finiteDifferences');
  const T = trajectoryLength(tr, dim);
  if (T < 2) throw new Error(`finiteDifferences: trajectory ${tr.id ?? '(no id)'} has ${T} sample(s); forward differences need at least 2`);
  const x = tr.x.slice(0, (T - 1) * dim);
  const dxdt = new Float64Array((T - 1) * dim);
  for (let i = 0; i + 1 < T; i++) {
    const dt = tr.t[i + 1]! - tr.t[i]!;
    for (let j = 0; j < dim; j++) dxdt[i * dim + j] = (tr.x[(i + 1) * dim + j]! - tr.x[i * dim + j]!) / dt;
  }
  return { t: tr.t.slice(0, T - 1), x, dxdt, id: tr.id };
}

/** A seeded split of items into train and test (testFraction of them, at least one each when possible). */
export function seededSplit<T>(items: T[], testFraction: number, seed: number): { train: T[]; test: T[] } {
  if (!(testFraction >= 0 && testFraction <= 1)) throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  const order = new Rng(seed).permutation(items.length);
  let nTest = Math.round(items.length * testFraction);
  if (testFraction > 0 && nTest === 0 && items.length > 1) nTest = 1;
  if (testFraction < 1 && nTest === items.length && items.length > 1) nTest = items.length - 1;
  return { train: order.slice(nTest).map((i) => items[i]!), test: order.slice(0, nTest).map((i) => items[i]!) };
}

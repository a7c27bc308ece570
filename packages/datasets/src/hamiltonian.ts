// Ideal spring and pendulum trajectories, generated the way the HNN code does
// (the Noether Networks paper reuses them): random initial point in [−1, 1]²
// rescaled to a random radius, adaptive RK45 at rtol 1e-10, first half train.
import { Rng, deriveSeed, interruptCheck } from '@noether/core';
import { GenerationInterrupted } from './gym-pendulum.js';
import { rk45 } from './ode.js';
import type { Trajectory, TrajectorySet } from './trajectories.js';

export interface HamiltonianSystem {
  name: string;
  /** H(q, p). */
  hamiltonian(q: number, p: number): number;
  /** (dq/dt, dp/dt) = (∂H/∂p, −∂H/∂q). */
  dynamics(q: number, p: number): [number, number];
  /** Number of samples over tSpan (inclusive ends, like numpy.linspace). */
  points: number;
  tSpan: [number, number];
  /** Initial radius in (q, p) space, drawn uniformly. */
  radius: [number, number];
}

/** H = q² + p² (HNN's spring; the Noether appendix writes ½(q² + p²)). */
export const SPRING: HamiltonianSystem = {
  name: 'spring',
  hamiltonian: (q, p) => q * q + p * p,
  dynamics: (q, p) => [2 * p, -2 * q],
  points: 30,
  tSpan: [0, 3],
  radius: [0.1, 1.0],
};

/** H = 3(1 − cos q) + p². */
export const PENDULUM: HamiltonianSystem = {
  name: 'pendulum',
  hamiltonian: (q, p) => 3 * (1 - Math.cos(q)) + p * p,
  dynamics: (q, p) => [2 * p, -3 * Math.sin(q)],
  points: 45,
  tSpan: [0, 3],
  radius: [1.3, 2.3],
};

export interface HamiltonianOptions {
  seed?: number;
  /** Total trajectories (50); the first `trainCount` are train, the rest test. */
  trajectories?: number;
  trainCount?: number;
  /** Gaussian noise std added to q and p (HNN's default is 0.1; the Noether tables are noise-free). */
  noiseStd?: number;
  rtol?: number;
  atol?: number;
}

export function linspace(a: number, b: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
}

/** Trajectories of the system; x holds (q, p) per sample, dxdt the true derivatives of the noise-free state. */
export function generateHamiltonian(system: HamiltonianSystem, opts: HamiltonianOptions = {}): TrajectorySet {
  const g = hamiltonianGenerator(system, opts);
  return g.split(Array.from({ length: g.total }, () => g.next()));
}

export interface InterruptibleHamiltonianOptions extends HamiltonianOptions {
  /** Checked between trajectories (the event loop gets a turn about every 50 ms): when aborted (Ctrl-C),
   * rejects with GenerationInterrupted. */
  signal?: AbortSignal;
  /** Called after each trajectory. */
  onProgress?: (done: number, total: number) => void;
}

/** generateHamiltonian's trajectories, the same numbers, with the event loop given turns between them,
 * so that a signal handler can run and abort it: many thousands take minutes. */
export async function generateHamiltonianInterruptibly(system: HamiltonianSystem, opts: InterruptibleHamiltonianOptions = {}): Promise<TrajectorySet> {
  const g = hamiltonianGenerator(system, opts);
  const stop = interruptCheck(opts.signal);
  const all: Trajectory[] = [];
  for (let i = 0; i < g.total; i++) {
    all.push(g.next());
    opts.onProgress?.(i + 1, g.total);
    if (await stop()) throw new GenerationInterrupted();
  }
  return g.split(all);
}

/** The checked options, a function that makes the next trajectory (the random streams are drawn in
 * trajectory order), and the split of all of them into train and test. */
function hamiltonianGenerator(system: HamiltonianSystem, opts: HamiltonianOptions) {
  const seed = opts.seed ?? 0;
  const total = opts.trajectories ?? 50;
  const trainCount = opts.trainCount ?? Math.floor(total / 2);
  const noiseStd = opts.noiseStd ?? 0;
  if (!Number.isInteger(total) || total < 1) throw new Error(`trajectories must be a positive integer, got ${total}`);
  if (!Number.isInteger(trainCount) || trainCount < 0 || trainCount > total) {
    throw new Error(`trainCount must be an integer in [0, ${total}], got ${trainCount}`);
  }
  if (!(noiseStd >= 0)) throw new Error(`noiseStd must be ≥ 0, got ${noiseStd}`);
  // Separate streams: switching noise on leaves the initial conditions unchanged.
  const init = new Rng(deriveSeed(seed, `${system.name}/init`));
  const noise = new Rng(deriveSeed(seed, `${system.name}/noise`));
  const t = linspace(system.tSpan[0], system.tSpan[1], system.points);
  const f = (_t: number, y: Float64Array, out: Float64Array) => {
    const [dq, dp] = system.dynamics(y[0]!, y[1]!);
    out[0] = dq;
    out[1] = dp;
  };
  let i = 0;
  const next = (): Trajectory => {
    const q0 = init.uniform(-1, 1);
    const p0 = init.uniform(-1, 1);
    const r = init.uniform(system.radius[0], system.radius[1]);
    const norm = Math.hypot(q0, p0) || 1;
    const x = rk45(f, [(q0 / norm) * r, (p0 / norm) * r], t, { rtol: opts.rtol ?? 1e-10, atol: opts.atol });
    const dxdt = new Float64Array(x.length);
    for (let j = 0; j < system.points; j++) {
      const [dq, dp] = system.dynamics(x[2 * j]!, x[2 * j + 1]!);
      dxdt[2 * j] = dq;
      dxdt[2 * j + 1] = dp;
    }
    if (noiseStd > 0) for (let j = 0; j < x.length; j++) x[j] = x[j]! + noiseStd * noise.normal();
    return { t: t.slice(), x, dxdt, id: `${system.name}#${i++}` };
  };
  const split = (all: Trajectory[]): TrajectorySet => ({ name: system.name, stateNames: ['q', 'p'], train: all.slice(0, trainCount), test: all.slice(trainCount) });
  return { total, next, split };
}

export const generateSpring = (opts?: HamiltonianOptions) => generateHamiltonian(SPRING, opts);
export const generatePendulum = (opts?: HamiltonianOptions) => generateHamiltonian(PENDULUM, opts);

// Test data for the HNN systems, generated here (no I/O): spring analytically, pendulum by RK4.
import { Rng } from '@noether/core';
import type { SequenceBatch } from '../src/index.js';

/** Initial point as in the HNN code: uniform in [−1, 1]², rescaled to a radius in [rMin, rMax]. */
function initialPoint(rng: Rng, rMin: number, rMax: number): [number, number] {
  const q = rng.uniform(-1, 1);
  const p = rng.uniform(-1, 1);
  const r = rng.uniform(rMin, rMax) / Math.hypot(q, p);
  return [q * r, p * r];
}

/** H = q² + p², dq/dt = 2p, dp/dt = −2q: q = r sin(2t + φ), p = r cos(2t + φ). */
export function springData(seed: number, sequences = 25, steps = 30, tMax = 3): SequenceBatch {
  const rng = new Rng(seed);
  const values = new Float64Array(sequences * steps * 2);
  for (let k = 0; k < sequences; k++) {
    const [q0, p0] = initialPoint(rng, 0.1, 1.0);
    const r = Math.hypot(q0, p0);
    const phi = Math.atan2(q0, p0);
    for (let t = 0; t < steps; t++) {
      const time = (tMax * t) / (steps - 1);
      values[(k * steps + t) * 2] = r * Math.sin(2 * time + phi);
      values[(k * steps + t) * 2 + 1] = r * Math.cos(2 * time + phi);
    }
  }
  return { values, sequences, steps, dim: 2 };
}

/** H = 3(1 − cos q) + p², dq/dt = 2p, dp/dt = −3 sin q, RK4 with step h. */
export function pendulumData(seed: number, sequences = 25, steps = 45, tMax = 3, h = 1e-3): SequenceBatch {
  const rng = new Rng(seed);
  const values = new Float64Array(sequences * steps * 2);
  const f = (q: number, p: number): [number, number] => [2 * p, -3 * Math.sin(q)];
  for (let k = 0; k < sequences; k++) {
    let [q, p] = initialPoint(rng, 1.3, 2.3);
    let time = 0;
    for (let t = 0; t < steps; t++) {
      const target = (tMax * t) / (steps - 1);
      while (time < target - 1e-12) {
        const dt = Math.min(h, target - time);
        const [a1, b1] = f(q, p);
        const [a2, b2] = f(q + (dt / 2) * a1, p + (dt / 2) * b1);
        const [a3, b3] = f(q + (dt / 2) * a2, p + (dt / 2) * b2);
        const [a4, b4] = f(q + dt * a3, p + dt * b3);
        q += (dt / 6) * (a1 + 2 * a2 + 2 * a3 + a4);
        p += (dt / 6) * (b1 + 2 * b2 + 2 * b3 + b4);
        time += dt;
      }
      values[(k * steps + t) * 2] = q;
      values[(k * steps + t) * 2 + 1] = p;
    }
  }
  return { values, sequences, steps, dim: 2 };
}

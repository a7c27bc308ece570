// Adaptive Dormand–Prince RK5(4) in float64 — the method behind scipy's
// solve_ivp(method='RK45') that HNN used to make its spring and pendulum data.
// Steps are shortened to land exactly on every requested time, so no dense
// output (interpolation) error enters the samples.

/** dy/dt = f(t, y), written into out (no allocation per call). */
export type OdeFn = (t: number, y: Float64Array, out: Float64Array) => void;

export interface Rk45Options {
  /** Relative tolerance (HNN: 1e-10). */
  rtol?: number;
  /** Absolute tolerance. scipy's default is 1e-6; we default to 1e-10 so tiny states keep full accuracy too. */
  atol?: number;
  /** Give up after this many attempted steps. */
  maxSteps?: number;
}

// Butcher tableau of Dormand & Prince (1980).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
// 5th-order weights are A[6] (first same as last); E = b5 − b4 estimates the local error.
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/**
 * Integrates y' = f(t, y) from y0 at tEval[0] and returns the states at every time
 * of tEval (increasing), as a tEval.length × y0.length row-major array.
 */
export function rk45(f: OdeFn, y0: ArrayLike<number>, tEval: ArrayLike<number>, opts: Rk45Options = {}): Float64Array {
  const rtol = opts.rtol ?? 1e-10;
  const atol = opts.atol ?? 1e-10;
  const maxSteps = opts.maxSteps ?? 1_000_000;
  const d = y0.length;
  const n = tEval.length;
  for (let i = 1; i < n; i++) {
    if (!(tEval[i]! > tEval[i - 1]!)) throw new Error(`rk45: tEval must be strictly increasing (index ${i})`);
  }
  const out = new Float64Array(n * d);
  let y = Float64Array.from(y0);
  out.set(y, 0);
  if (n < 2) return out;
  const k = Array.from({ length: 7 }, () => new Float64Array(d));
  const tmp = new Float64Array(d);
  let yNew = new Float64Array(d);
  let t = tEval[0]!;
  f(t, y, k[0]!);
  let h = initialStep(y, k[0]!, rtol, atol, tEval[n - 1]! - t);
  let steps = 0;
  for (let next = 1; next < n; ) {
    if (++steps > maxSteps) throw new Error(`rk45: more than ${maxSteps} steps before t=${tEval[next]}; the system may be stiff`);
    const target = tEval[next]!;
    const landing = t + h >= target - 1e-12 * Math.max(1, Math.abs(target));
    const step = landing ? target - t : h;
    for (let s = 1; s < 7; s++) {
      for (let i = 0; i < d; i++) {
        let acc = y[i]!;
        for (let j = 0; j < s; j++) acc += step * A[s]![j]! * k[j]![i]!;
        tmp[i] = acc;
      }
      f(t + C[s]! * step, tmp, k[s]!);
    }
    yNew.set(tmp); // stage 7 is evaluated at the 5th-order solution
    let err = 0;
    for (let i = 0; i < d; i++) {
      let e = 0;
      for (let s = 0; s < 7; s++) e += E[s]! * k[s]![i]!;
      const scale = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(yNew[i]!));
      err += ((step * e) / scale) ** 2;
    }
    err = Math.sqrt(err / d);
    const factor = err === 0 ? 10 : Math.min(10, Math.max(0.2, 0.9 * err ** -0.2));
    if (err <= 1) {
      t = landing ? target : t + step;
      [y, yNew] = [yNew, y];
      k[0]!.set(k[6]!); // first same as last
      if (landing) out.set(y, d * next++);
      // A step shortened to land on the grid says little about the natural step size.
      if (!landing || step >= h) h = step * factor;
    } else {
      h = step * factor;
    }
  }
  return out;
}

// Hairer, Nørsett & Wanner's starting-step heuristic (simplified: no second derivative probe).
function initialStep(y: Float64Array, f0: Float64Array, rtol: number, atol: number, span: number): number {
  let d0 = 0;
  let d1 = 0;
  for (let i = 0; i < y.length; i++) {
    const sc = atol + rtol * Math.abs(y[i]!);
    d0 += (y[i]! / sc) ** 2;
    d1 += (f0[i]! / sc) ** 2;
  }
  d0 = Math.sqrt(d0 / y.length);
  d1 = Math.sqrt(d1 / y.length);
  const h = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
  return Math.min(h, span);
}

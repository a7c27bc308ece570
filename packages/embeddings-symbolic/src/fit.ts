// Fitting a formula's parameters so it is conserved along sequences.
//
// Objective: the within-sequence share of the variance,
//   R(φ) = Σ_k Σ_t (g_kt − ḡ_k)² / Σ_k Σ_t (g_kt − ḡ)²,  in [0, 1],
// i.e. 1 − (between-sequence R² of a one-way ANOVA). It is invariant to g → a·g + b, so
// scaling a formula to zero or adding a large constant cannot fake conservation, and a
// constant formula is 0/0, which we mark degenerate (R := 1) instead of rewarding it.
// We minimise R by Levenberg-Marquardt on the residuals r = Π_w g / ‖Π_t g‖ (R = ‖r‖²), with
// exact forward-mode Jacobians in plain Float64 (no tfjs): every slot carries its value and its
// derivative w.r.t. each parameter. Gauss-Newton converges in a few steps where the optimum is
// conserved exactly (zero residual), which is the case that matters; Adam needed ~30× more passes.
import { Op } from './dsl.js';
import type { Program } from './program.js';
import type { Rng } from '@noether/core';

/** Sequences of states, row-major [sequences, steps, dim]. */
export interface SequenceBatch {
  values: ArrayLike<number>;
  sequences: number;
  steps: number;
  dim: number;
}

export function validateBatch(data: SequenceBatch, what = 'data'): void {
  const { sequences, steps, dim } = data;
  for (const [k, v] of Object.entries({ sequences, steps, dim })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}.${k} must be a positive integer, got ${v}`);
  }
  if (sequences < 2) throw new Error(`${what}.sequences must be at least 2 (variance across sequences), got ${sequences}`);
  if (steps < 2) throw new Error(`${what}.steps must be at least 2 (variance within a sequence), got ${steps}`);
  if (data.values.length !== sequences * steps * dim) {
    throw new Error(`${what}.values has ${data.values.length} numbers; expected sequences×steps×dim = ${sequences * steps * dim}`);
  }
  for (let i = 0; i < data.values.length; i++) {
    if (!Number.isFinite(data.values[i]!)) throw new Error(`${what}.values[${i}] is not finite (${data.values[i]})`);
  }
}

/** From nested arrays [sequence][step][dim]. */
export function sequenceBatch(seqs: readonly (readonly (readonly number[])[])[]): SequenceBatch {
  const sequences = seqs.length;
  const steps = seqs[0]?.length ?? 0;
  const dim = seqs[0]?.[0]?.length ?? 0;
  const values = new Float64Array(sequences * steps * dim);
  let o = 0;
  seqs.forEach((s, k) => {
    if (s.length !== steps) throw new Error(`sequence ${k} has ${s.length} steps; sequence 0 has ${steps}`);
    s.forEach((x, t) => {
      if (x.length !== dim) throw new Error(`sequence ${k} step ${t} has ${x.length} values; expected ${dim}`);
      for (const v of x) values[o++] = v;
    });
  });
  const b = { values, sequences, steps, dim };
  validateBatch(b);
  return b;
}

/** Random sequences with the shape of `data`: states i.i.d. uniform in its per-dimension range. */
export function randomSequencesLike(data: SequenceBatch, rng: Rng): SequenceBatch {
  const { sequences, steps, dim } = data;
  const lo = new Array<number>(dim).fill(Infinity);
  const hi = new Array<number>(dim).fill(-Infinity);
  const n = sequences * steps;
  for (let i = 0; i < n; i++)
    for (let d = 0; d < dim; d++) {
      const v = data.values[i * dim + d]!;
      if (v < lo[d]!) lo[d] = v;
      if (v > hi[d]!) hi[d] = v;
    }
  const values = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) values[i * dim + d] = rng.uniform(lo[d]!, hi[d]!);
  return { values, sequences, steps, dim };
}

export interface FitOptions {
  /** Levenberg-Marquardt iterations per restart, rejected trial steps included (default 100). */
  steps: number;
  /** Independent starts, each parameter at ±e^U(−1.5, 1.5) from the candidate's own seed (default 3). */
  restarts: number;
  /** Stop a restart when an accepted step lowers R by less than this fraction (default 1e-4). */
  tolerance: number;
  /** R below this counts as exactly conserved (rounding noise): stop (default 1e-24). */
  exactRatio: number;
}

export const DEFAULT_FIT: FitOptions = { steps: 100, restarts: 3, tolerance: 1e-4, exactRatio: 1e-24 };

export function resolveFitOptions(o: Partial<FitOptions> = {}): FitOptions {
  const r = { ...DEFAULT_FIT, ...o };
  for (const k of Object.keys(r)) if (!(k in DEFAULT_FIT)) throw new Error(`fit.${k} is not an option; known: ${Object.keys(DEFAULT_FIT).join(', ')}`);
  for (const k of ['steps', 'restarts'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < (k === 'steps' ? 0 : 1)) throw new Error(`fit.${k} must be a positive integer, got ${r[k]}`);
  }
  for (const k of ['tolerance', 'exactRatio'] as const) {
    if (!(r[k] > 0) || !Number.isFinite(r[k])) throw new Error(`fit.${k} must be a positive number, got ${r[k]}`);
  }
  return r;
}

export interface FitResult {
  params: number[];
  /** Within-sequence / total variance at params (1 when degenerate or non-finite). */
  ratio: number;
  /** Constant on the data (0/0): no conservation signal. */
  degenerate: boolean;
  /** Produced NaN/∞ at every parameter tried. */
  nonFinite: boolean;
  /** Levenberg-Marquardt iterations, all restarts together. */
  steps: number;
}

const enum Status {
  Ok = 0,
  Degenerate = 1,
  NonFinite = 2,
}

/** Evaluates and fits programs on one SequenceBatch, reusing its buffers across formulas. */
export class ConservationFitter {
  readonly n: number;
  private readonly cols: Float64Array[];
  private readonly seqs: number;
  private readonly steps: number;
  /** Per-slot values: a data column for inputs, else the slot's own buffer. */
  private vals: Float64Array[] = [];
  private own: Float64Array[] = [];
  private grads: Float64Array[] = [];
  private gradCap = 0;
  // Gauss-Newton pieces of the last run (see run()).
  private readonly M = new Float64Array(64 * 64);
  private readonly b = new Float64Array(64);
  private readonly awg = new Float64Array(64);
  private readonly atg = new Float64Array(64);
  private readonly gm = new Float64Array(64);
  private readonly v = new Float64Array(64);
  private lastRatio = 1;

  constructor(data: SequenceBatch) {
    validateBatch(data);
    this.seqs = data.sequences;
    this.steps = data.steps;
    this.n = data.sequences * data.steps;
    this.cols = Array.from({ length: data.dim }, () => new Float64Array(this.n));
    for (let i = 0; i < this.n; i++) for (let d = 0; d < data.dim; d++) this.cols[d]![i] = data.values[i * data.dim + d]!;
  }

  private ensure(prog: Program): void {
    if (prog.nInputs > this.cols.length) throw new Error(`formula reads ${prog.nInputs} inputs; data has dim ${this.cols.length}`);
    if (prog.nParams > this.b.length) throw new Error(`formula has ${prog.nParams} parameters; at most ${this.b.length} supported`);
    while (this.own.length < prog.n) this.own.push(new Float64Array(this.n));
    const need = Math.max(1, prog.nParams) * this.n;
    if (need > this.gradCap) {
      this.gradCap = need;
      this.grads = [];
    }
    while (this.grads.length < prog.n) this.grads.push(new Float64Array(this.gradCap));
  }

  /** Computes every slot that does not depend on parameters (once per formula). */
  private prepare(prog: Program): void {
    this.ensure(prog);
    const n = this.n;
    for (let s = 0; s < prog.n; s++) this.vals[s] = prog.op[s] === Op.Input ? this.cols[prog.a[s]!]! : this.own[s]!;
    for (let s = 0; s < prog.n; s++) {
      if (prog.dynamic[s]) {
        if (prog.op[s] === Op.Param) {
          // d(param k)/d(param j) = [j = k], fixed for the whole fit.
          const g = this.grads[s]!;
          g.fill(0, 0, prog.nParams * n);
          g.fill(1, prog.a[s]! * n, (prog.a[s]! + 1) * n);
        }
        continue;
      }
      if (prog.op[s] !== Op.Input) this.forward(prog, s, false, 0);
    }
  }

  /** Value (and, with grad, derivatives) of slot s from its operands. */
  private forward(prog: Program, s: number, grad: boolean, P: number): void {
    const n = this.n;
    const o = prog.op[s]!;
    const v = this.vals[s]!;
    if (o === Op.Param) return; // value filled by setParams
    const ia = prog.a[s]!;
    const x = this.vals[ia]!;
    const gv = this.grads[s]!;
    const ga = this.grads[ia]!;
    const da = grad && prog.dynamic[ia] === 1;
    switch (o) {
      case Op.Sin:
        if (!da) for (let i = 0; i < n; i++) v[i] = Math.sin(x[i]!);
        else if (P === 1) for (let i = 0; i < n; i++) { v[i] = Math.sin(x[i]!); gv[i] = Math.cos(x[i]!) * ga[i]!; }
        else for (let i = 0; i < n; i++) { v[i] = Math.sin(x[i]!); const c = Math.cos(x[i]!); for (let j = 0; j < P; j++) gv[j * n + i] = c * ga[j * n + i]!; }
        return;
      case Op.Cos:
        if (!da) for (let i = 0; i < n; i++) v[i] = Math.cos(x[i]!);
        else if (P === 1) for (let i = 0; i < n; i++) { v[i] = Math.cos(x[i]!); gv[i] = -Math.sin(x[i]!) * ga[i]!; }
        else for (let i = 0; i < n; i++) { v[i] = Math.cos(x[i]!); const c = -Math.sin(x[i]!); for (let j = 0; j < P; j++) gv[j * n + i] = c * ga[j * n + i]!; }
        return;
      case Op.Square:
        for (let i = 0; i < n; i++) v[i] = x[i]! * x[i]!;
        if (da) for (let j = 0; j < P; j++) { const o2 = j * n; for (let i = 0; i < n; i++) gv[o2 + i] = 2 * x[i]! * ga[o2 + i]!; }
        return;
    }
    const ib = prog.b[s]!;
    const y = this.vals[ib]!;
    const gb = this.grads[ib]!;
    const db = grad && prog.dynamic[ib] === 1;
    const m = P * n;
    switch (o) {
      case Op.Add:
        for (let i = 0; i < n; i++) v[i] = x[i]! + y[i]!;
        if (da && db) for (let i = 0; i < m; i++) gv[i] = ga[i]! + gb[i]!;
        else if (da) for (let i = 0; i < m; i++) gv[i] = ga[i]!;
        else if (db) for (let i = 0; i < m; i++) gv[i] = gb[i]!;
        return;
      case Op.Sub:
        for (let i = 0; i < n; i++) v[i] = x[i]! - y[i]!;
        if (da && db) for (let i = 0; i < m; i++) gv[i] = ga[i]! - gb[i]!;
        else if (da) for (let i = 0; i < m; i++) gv[i] = ga[i]!;
        else if (db) for (let i = 0; i < m; i++) gv[i] = -gb[i]!;
        return;
      case Op.Mul:
        for (let i = 0; i < n; i++) v[i] = x[i]! * y[i]!;
        for (let j = 0; j < P && (da || db); j++) {
          const o2 = j * n;
          if (da && db) for (let i = 0; i < n; i++) gv[o2 + i] = ga[o2 + i]! * y[i]! + x[i]! * gb[o2 + i]!;
          else if (da) for (let i = 0; i < n; i++) gv[o2 + i] = ga[o2 + i]! * y[i]!;
          else for (let i = 0; i < n; i++) gv[o2 + i] = x[i]! * gb[o2 + i]!;
        }
        return;
      case Op.Div:
        for (let i = 0; i < n; i++) v[i] = x[i]! / y[i]!;
        for (let j = 0; j < P && (da || db); j++) {
          const o2 = j * n;
          if (da && db) for (let i = 0; i < n; i++) gv[o2 + i] = (ga[o2 + i]! - v[i]! * gb[o2 + i]!) / y[i]!;
          else if (da) for (let i = 0; i < n; i++) gv[o2 + i] = ga[o2 + i]! / y[i]!;
          else for (let i = 0; i < n; i++) gv[o2 + i] = (-v[i]! * gb[o2 + i]!) / y[i]!;
        }
        return;
    }
  }

  /** Runs the dynamic slots at params; sets lastRatio and, with grad, the Gauss-Newton
   * system (M, b) of R: with r = Π_w g / ‖Π_t g‖ (so R = ‖r‖²), M = T·JᵣᵀJᵣ and b = T·Jᵣᵀr. */
  private run(prog: Program, params: ArrayLike<number>, grad: boolean): Status {
    const n = this.n;
    const P = prog.nParams;
    for (let s = 0; s < prog.n; s++) {
      if (!prog.dynamic[s]) continue;
      if (prog.op[s] === Op.Param) this.vals[s]!.fill(params[prog.a[s]!]!);
      else this.forward(prog, s, grad, P);
    }
    const r = prog.n - 1;
    const g = this.vals[r]!;
    const G = this.grads[r]!;
    const dyn = grad && prog.dynamic[r] === 1;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      sum += g[i]!;
      sumSq += g[i]! * g[i]!;
    }
    if (!Number.isFinite(sumSq)) return this.fail(Status.NonFinite);
    const mean = sum / n;
    const T = this.steps;
    let total = 0;
    let within = 0;
    const M = this.M;
    const awg = this.awg;
    const atg = this.atg;
    const gm = this.gm;
    if (dyn) {
      M.fill(0, 0, P * P);
      awg.fill(0, 0, P);
      atg.fill(0, 0, P);
    }
    for (let k = 0; k < this.seqs; k++) {
      const o = k * T;
      let ms = 0;
      for (let t = 0; t < T; t++) ms += g[o + t]!;
      ms /= T;
      if (dyn) {
        for (let j = 0; j < P; j++) {
          let a = 0;
          for (let t = 0; t < T; t++) a += G[j * n + o + t]!;
          gm[j] = a / T;
        }
      }
      for (let t = 0; t < T; t++) {
        const i = o + t;
        const e = g[i]! - mean;
        const w = g[i]! - ms;
        total += e * e;
        within += w * w;
        if (dyn)
          for (let j = 0; j < P; j++) {
            const cj = G[j * n + i]! - gm[j]!;
            awg[j] += cj * w;
            atg[j] += G[j * n + i]! * e;
            for (let l = 0; l <= j; l++) M[j * P + l] += cj * (G[l * n + i]! - gm[l]!);
          }
      }
    }
    // Constant (up to rounding) on these states: 0/0, no evidence of conservation.
    if (!(total > 1e-24 * sumSq)) return this.fail(Status.Degenerate);
    const ratio = Math.min(1, within / total);
    this.lastRatio = ratio;
    if (dyn) {
      // v = ∂ log ‖Π_t g‖ / ∂φ; M = AwᵀAw − Awg vᵀ − v Awgᵀ + W v vᵀ; b = Awg − W v.
      const v = this.v;
      for (let j = 0; j < P; j++) v[j] = atg[j]! / total;
      for (let j = 0; j < P; j++) {
        for (let l = 0; l <= j; l++) {
          const x = M[j * P + l]! - awg[j]! * v[l]! - v[j]! * awg[l]! + within * v[j]! * v[l]!;
          M[j * P + l] = x;
          M[l * P + j] = x;
        }
        this.b[j] = awg[j]! - within * v[j]!;
      }
    }
    return Status.Ok;
  }

  private fail(s: Status): Status {
    this.lastRatio = 1;
    return s;
  }

  /** R at fixed params, no fitting. */
  ratio(prog: Program, params: ArrayLike<number> = []): { ratio: number; degenerate: boolean; nonFinite: boolean } {
    this.prepare(prog);
    const st = this.run(prog, params, false);
    return { ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite };
  }

  /** Minimises R over the parameters by Levenberg-Marquardt; deterministic given rng's state. */
  fit(prog: Program, rng: Rng, options: FitOptions = DEFAULT_FIT): FitResult {
    this.prepare(prog);
    const P = prog.nParams;
    if (P === 0) {
      const st = this.run(prog, [], false);
      return { params: [], ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite, steps: 0 };
    }
    const { steps, restarts, tolerance, exactRatio } = options;
    let best: number[] | undefined;
    let bestRatio = Infinity;
    let bestStatus = Status.NonFinite;
    let iterations = 0;
    const th = new Float64Array(P);
    const trial = new Float64Array(P);
    const A = new Float64Array(P * P);
    const rhs = new Float64Array(P);
    const Mk = new Float64Array(P * P);
    const bk = new Float64Array(P);
    for (let r = 0; r < restarts; r++) {
      // Draw every restart's start even when we stop early, so results never depend on when we stop.
      for (let j = 0; j < P; j++) th[j] = (rng.next() < 0.5 ? -1 : 1) * Math.exp(rng.uniform(-1.5, 1.5));
      if (bestRatio <= exactRatio) continue;
      let st = this.run(prog, th, true);
      if (st === Status.Degenerate && bestStatus === Status.NonFinite) bestStatus = Status.Degenerate;
      if (st !== Status.Ok) continue;
      let cur = this.lastRatio;
      Mk.set(this.M.subarray(0, P * P));
      bk.set(this.b.subarray(0, P));
      let lambda = 1e-3;
      for (let it = 0; it < steps && cur > exactRatio; it++) {
        iterations++;
        // (M + λ·diag(M) + tiny·I) δ = −b; the tiny ridge covers pure-rescaling directions.
        let tr = 0;
        for (let j = 0; j < P; j++) tr += Mk[j * P + j]!;
        const ridge = 1e-12 * (tr / P) + 1e-300;
        for (let j = 0; j < P * P; j++) A[j] = Mk[j]!;
        for (let j = 0; j < P; j++) {
          A[j * P + j] = Mk[j * P + j]! * (1 + lambda) + ridge;
          rhs[j] = -bk[j]!;
        }
        if (!solveSymmetric(A, rhs, P)) {
          lambda *= 10;
          if (lambda > 1e12) break;
          continue;
        }
        for (let j = 0; j < P; j++) trial[j] = th[j]! + rhs[j]!;
        st = this.run(prog, trial, true);
        if (st === Status.Ok && this.lastRatio < cur) {
          const improvement = (cur - this.lastRatio) / cur;
          th.set(trial);
          cur = this.lastRatio;
          Mk.set(this.M.subarray(0, P * P));
          bk.set(this.b.subarray(0, P));
          lambda = Math.max(lambda / 3, 1e-12);
          if (improvement < tolerance) break;
        } else {
          lambda *= 5;
          if (lambda > 1e12) break;
        }
      }
      if (cur < bestRatio) {
        bestRatio = cur;
        best = Array.from(th);
        bestStatus = Status.Ok;
      }
    }
    if (!best) {
      return { params: new Array<number>(P).fill(1), ratio: 1, degenerate: bestStatus === Status.Degenerate, nonFinite: bestStatus === Status.NonFinite, steps: iterations };
    }
    const st = this.run(prog, best, false);
    return { params: best, ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite, steps: iterations };
  }
}

/** Solves A x = b in place (b ← x) by Gaussian elimination with partial pivoting; false if singular. */
function solveSymmetric(A: Float64Array, b: Float64Array, n: number): boolean {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]!) > Math.abs(A[p * n + c]!)) p = r;
    const piv = A[p * n + c]!;
    if (!(Math.abs(piv) > 0) || !Number.isFinite(piv)) return false;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = A[c * n + k]!;
        A[c * n + k] = A[p * n + k]!;
        A[p * n + k] = t;
      }
      const t = b[c]!;
      b[c] = b[p]!;
      b[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c]! / piv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k]!;
      b[r] -= f * b[c]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let x = b[c]!;
    for (let k = c + 1; k < n; k++) x -= A[c * n + k]! * b[k]!;
    b[c] = x / A[c * n + c]!;
    if (!Number.isFinite(b[c]!)) return false;
  }
  return true;
}

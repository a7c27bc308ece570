// Fitting a formula's parameters so it is conserved along sequences.
//
// Objective: the within-sequence share of the variance,
//   R(φ) = Σ_k Σ_t (g_kt − ḡ_k)² / Σ_k Σ_t (g_kt − ḡ)²,  in [0, 1],
// i.e. 1 − (between-sequence R² of a one-way ANOVA). It is invariant to g → a·g + b, so
// scaling a formula to zero or adding a large constant cannot fake conservation, and a
// constant formula is 0/0, which we mark degenerate (R := 1) instead of rewarding it.
// We minimise log R with Adam, using exact forward-mode gradients in plain Float64 (no tfjs):
// every slot carries its value and its derivative w.r.t. each parameter.
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
  /** Adam steps per restart (default 300). */
  steps: number;
  /** Independent starts; the first starts every parameter at 1, the others at ±e^U(−1.5,1.5) (default 3). */
  restarts: number;
  /** Initial learning rate, decayed exponentially to lrFinal (defaults 0.05 → 0.0005). */
  lr: number;
  lrFinal: number;
  /** Stop a restart when log R has not improved by 1e-4 for this many steps (default 40). */
  patience: number;
  /** R below this counts as exactly conserved (numerical noise), stop early (default 1e-24). */
  exactRatio: number;
}

export const DEFAULT_FIT: FitOptions = { steps: 300, restarts: 3, lr: 0.05, lrFinal: 0.0005, patience: 40, exactRatio: 1e-24 };

export function resolveFitOptions(o: Partial<FitOptions> = {}): FitOptions {
  const r = { ...DEFAULT_FIT, ...o };
  for (const k of ['steps', 'restarts', 'patience'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < (k === 'steps' ? 0 : 1)) throw new Error(`fit.${k} must be a positive integer, got ${r[k]}`);
  }
  for (const k of ['lr', 'lrFinal', 'exactRatio'] as const) {
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
  /** Adam steps taken, all restarts together. */
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
  private readonly dL: Float64Array = new Float64Array(64);
  /** log R of the last evaluation. */
  private lastLog = 0;
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
    if (prog.nParams > this.dL.length) throw new Error(`formula has ${prog.nParams} parameters; at most ${this.dL.length} supported`);
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
        for (let i = 0; i < n; i++) v[i] = Math.sin(x[i]!);
        if (da) for (let i = 0; i < n; i++) { const c = Math.cos(x[i]!); for (let j = 0; j < P; j++) gv[j * n + i] = c * ga[j * n + i]!; }
        return;
      case Op.Cos:
        for (let i = 0; i < n; i++) v[i] = Math.cos(x[i]!);
        if (da) for (let i = 0; i < n; i++) { const c = -Math.sin(x[i]!); for (let j = 0; j < P; j++) gv[j * n + i] = c * ga[j * n + i]!; }
        return;
      case Op.Square:
        for (let i = 0; i < n; i++) v[i] = x[i]! * x[i]!;
        if (da) for (let i = 0; i < n; i++) { const c = 2 * x[i]!; for (let j = 0; j < P; j++) gv[j * n + i] = c * ga[j * n + i]!; }
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
        if (da || db)
          for (let j = 0; j < P; j++) {
            const o2 = j * n;
            for (let i = 0; i < n; i++) gv[o2 + i] = (da ? ga[o2 + i]! * y[i]! : 0) + (db ? x[i]! * gb[o2 + i]! : 0);
          }
        return;
      case Op.Div:
        for (let i = 0; i < n; i++) v[i] = x[i]! / y[i]!;
        if (da || db)
          for (let j = 0; j < P; j++) {
            const o2 = j * n;
            for (let i = 0; i < n; i++) gv[o2 + i] = ((da ? ga[o2 + i]! : 0) - (db ? v[i]! * gb[o2 + i]! : 0)) / y[i]!;
          }
        return;
    }
  }

  /** Runs the dynamic slots at params; fills lastRatio/lastLog and, with grad, dL = ∂ log R/∂φ. */
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
    let total = 0;
    let within = 0;
    if (dyn) for (let j = 0; j < P; j++) this.dL[j] = 0;
    const dW = dyn ? new Float64Array(P) : undefined;
    const dT = dyn ? new Float64Array(P) : undefined;
    const T = this.steps;
    for (let k = 0; k < this.seqs; k++) {
      const o = k * T;
      let ms = 0;
      for (let t = 0; t < T; t++) ms += g[o + t]!;
      ms /= T;
      for (let t = 0; t < T; t++) {
        const i = o + t;
        const e = g[i]! - mean;
        const w = g[i]! - ms;
        total += e * e;
        within += w * w;
        if (dyn) for (let j = 0; j < P; j++) { const gi = G[j * n + i]!; dT![j] += 2 * e * gi; dW![j] += 2 * w * gi; }
      }
    }
    // Constant (up to rounding) on these states: 0/0, no evidence of conservation.
    if (!(total > 1e-24 * sumSq)) return this.fail(Status.Degenerate);
    const ratio = Math.min(1, within / total);
    this.lastRatio = ratio;
    this.lastLog = Math.log(Math.max(ratio, 1e-300));
    if (dyn) for (let j = 0; j < P; j++) this.dL[j] = within > 0 ? dW![j]! / within - dT![j]! / total : 0;
    return Status.Ok;
  }

  private fail(s: Status): Status {
    this.lastRatio = 1;
    this.lastLog = 0;
    return s;
  }

  /** R at fixed params, no fitting. */
  ratio(prog: Program, params: ArrayLike<number> = []): { ratio: number; degenerate: boolean; nonFinite: boolean } {
    this.prepare(prog);
    const st = this.run(prog, params, false);
    return { ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite };
  }

  /** Minimises log R over the parameters; deterministic given rng's state. */
  fit(prog: Program, rng: Rng, options: FitOptions = DEFAULT_FIT): FitResult {
    this.prepare(prog);
    const P = prog.nParams;
    if (P === 0) {
      const st = this.run(prog, [], false);
      return { params: [], ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite, steps: 0 };
    }
    const { steps, restarts, lr, lrFinal, patience, exactRatio } = options;
    const decay = steps > 1 ? Math.pow(lrFinal / lr, 1 / (steps - 1)) : 1;
    const logExact = Math.log(exactRatio);
    let best: number[] | undefined;
    let bestLog = Infinity;
    let bestStatus = Status.NonFinite;
    let totalSteps = 0;
    const th = new Float64Array(P);
    const m = new Float64Array(P);
    const v = new Float64Array(P);
    const keep = new Float64Array(P);
    for (let r = 0; r < restarts; r++) {
      // Draw every restart's start even when we stop early, so results never depend on when we stop.
      for (let j = 0; j < P; j++) th[j] = r === 0 ? 1 : (rng.next() < 0.5 ? -1 : 1) * Math.exp(rng.uniform(-1.5, 1.5));
      if (bestLog <= logExact) continue;
      m.fill(0);
      v.fill(0);
      let st = this.run(prog, th, true);
      if (st === Status.Degenerate && bestStatus === Status.NonFinite) bestStatus = Status.Degenerate;
      if (st !== Status.Ok) continue;
      let runBest = this.lastLog;
      keep.set(th);
      let sinceImprove = 0;
      let rate = lr;
      let scale = 1;
      for (let t = 1; t <= steps; t++) {
        totalSteps++;
        for (let j = 0; j < P; j++) {
          const gj = this.dL[j]!;
          m[j] = 0.9 * m[j]! + 0.1 * gj;
          v[j] = 0.999 * v[j]! + 0.001 * gj * gj;
          const mh = m[j]! / (1 - Math.pow(0.9, t));
          const vh = v[j]! / (1 - Math.pow(0.999, t));
          th[j] = th[j]! - rate * scale * mh / (Math.sqrt(vh) + 1e-12);
        }
        rate *= decay;
        st = this.run(prog, th, true);
        if (st !== Status.Ok) {
          // Stepped into a pole or a constant: go back to the best point with smaller steps.
          th.set(keep);
          scale *= 0.5;
          m.fill(0);
          v.fill(0);
          st = this.run(prog, th, true);
          if (scale < 1e-6) break;
          continue;
        }
        if (this.lastLog < runBest - 1e-4) sinceImprove = 0;
        else if (++sinceImprove >= patience) break;
        if (this.lastLog < runBest) {
          runBest = this.lastLog;
          keep.set(th);
        }
        if (runBest <= logExact) break;
      }
      if (runBest < bestLog) {
        bestLog = runBest;
        best = Array.from(keep);
        bestStatus = Status.Ok;
      }
    }
    if (!best) {
      return { params: new Array<number>(P).fill(1), ratio: 1, degenerate: bestStatus === Status.Degenerate, nonFinite: bestStatus === Status.NonFinite, steps: totalSteps };
    }
    // Re-evaluate at the kept point so the reported ratio is exactly the ratio of the reported params.
    const st = this.run(prog, best, false);
    return { params: best, ratio: this.lastRatio, degenerate: st === Status.Degenerate, nonFinite: st === Status.NonFinite, steps: totalSteps };
  }
}

// The search as pure functions over shards: every shard enumerates the same candidates
// (cheap, deterministic), fits the indices i with i mod of = shard, and returns plain JSON.
// Each candidate's randomness comes from (seed, index) only, and the random sequences from the
// seed only, so merged shards equal the unsharded run whatever the number of workers.
import { Rng, deriveSeed } from '@noether/core';
import { type Expr, type SystemSpec, resolveSystem } from './dsl.js';
import { enumerateCached } from './enumerate.js';
import { ConservationFitter, type FitOptions, type SequenceBatch, randomSequencesLike, resolveFitOptions, validateBatch } from './fit.js';
import { compile, evaluate } from './program.js';

export interface FilterOptions {
  /** Accept when ratio on random sequences ≥ factor × ratio on true data (default 100). */
  factor: number;
}

export interface SearchShardOptions {
  system: string | SystemSpec;
  /** Maximum number of nodes of a formula (see README, "Depth"). */
  depth: number;
  shard: number;
  of: number;
  seed: number;
  /** True sequences (e.g. the training trajectories), [sequences, steps, 2]. */
  data: SequenceBatch;
  fit?: Partial<FitOptions>;
  filter?: Partial<FilterOptions>;
  /** Only these candidate indices (still split across shards by index); default all. */
  candidates?: readonly number[];
  /** Also return rejected candidates (large); default false. */
  keepRejected?: boolean;
  /** Called every ~`progressEvery` candidates with (done, total) for this shard. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface CandidateResult {
  index: number;
  size: number;
  /** Printed with fitted values, e.g. `p^2 - 2.99*cos(q)`. */
  formula: string;
  /** Printed with parameters as c, e.g. `p^2 - c*cos(q)`. */
  template: string;
  expr: Expr;
  /** Fitted on true data. */
  params: number[];
  trueRatio: number;
  /** Best ratio reached on random sequences (fitted separately); 1 when not needed. */
  randomRatio: number;
  randomParams: number[];
  accepted: boolean;
  /** Why it was rejected: 'constant' (reads no input), 'degenerate' (constant on data),
   * 'non-finite', 'not-conserved' (true ratio × factor > 1: cannot pass), 'random' (filter). */
  reason?: 'constant' | 'degenerate' | 'non-finite' | 'not-conserved' | 'random';
}

/** Counts at each stage; they add up over shards. */
export interface StageCounts {
  /** Candidates this shard was responsible for. */
  assigned: number;
  /** Read no input (pure constants): skipped. */
  constant: number;
  /** Without parameters: evaluated, not fitted. */
  parameterFree: number;
  /** With parameters: fitted on true data. */
  fitted: number;
  degenerate: number;
  nonFinite: number;
  /** True ratio too large to ever pass (ratio ≤ 1 on random data): no random fit needed. */
  notConserved: number;
  /** Fitted on random sequences too. */
  randomFitted: number;
  rejectedByRandom: number;
  accepted: number;
  /** Levenberg-Marquardt iterations (work measure). */
  fitIterations: number;
}

export interface ShardResult {
  system: string;
  depth: number;
  seed: number;
  shard: number;
  of: number;
  /** All candidates of the enumeration (not only this shard's). */
  enumerated: number;
  /** Fingerprint of everything that must agree between shards of one search. */
  config: string;
  counts: StageCounts;
  /** Accepted (and with keepRejected, all) candidates of this shard, by index. */
  results: CandidateResult[];
}

export interface SearchResult extends Omit<ShardResult, 'shard' | 'of'> {
  /** Accepted ones ranked: lowest true ratio first (see rankCandidates). */
  ranked: CandidateResult[];
}

export const DEFAULT_FILTER: FilterOptions = { factor: 100 };

function zeroCounts(): StageCounts {
  return { assigned: 0, constant: 0, parameterFree: 0, fitted: 0, degenerate: 0, nonFinite: 0, notConserved: 0, randomFitted: 0, rejectedByRandom: 0, accepted: 0, fitIterations: 0 };
}

/** Fits one shard's candidates on true and on random sequences and applies the 100× filter. */
export function searchShard(opts: SearchShardOptions): ShardResult {
  const system = resolveSystem(opts.system);
  const { shard, of, seed } = opts;
  if (!Number.isInteger(of) || of < 1) throw new Error(`of (number of shards) must be a positive integer, got ${of}`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= of) throw new Error(`shard must be an integer in [0, ${of}), got ${shard}`);
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  validateBatch(opts.data, 'data');
  if (opts.data.dim !== system.inputs.length) {
    throw new Error(`data.dim is ${opts.data.dim} but system '${system.name}' has ${system.inputs.length} inputs (${system.inputs.map((i) => i.name).join(', ')})`);
  }
  const fitOpts = resolveFitOptions(opts.fit);
  const filter = { ...DEFAULT_FILTER, ...opts.filter };
  if (!(filter.factor >= 1)) throw new Error(`filter.factor must be ≥ 1, got ${filter.factor}`);

  const E = enumerateCached(system, opts.depth);
  const trueFit = new ConservationFitter(opts.data);
  const random = randomSequencesLike(opts.data, new Rng(deriveSeed(seed, 'symbolic/random-sequences')));
  const randomFit = new ConservationFitter(random);

  let indices: number[];
  if (opts.candidates) {
    const sorted = [...new Set(opts.candidates)].sort((a, b) => a - b);
    for (const i of sorted) if (!Number.isInteger(i) || i < 0 || i >= E.count) throw new Error(`candidates: index ${i} out of range [0, ${E.count})`);
    indices = sorted.filter((i) => i % of === shard);
  } else {
    indices = [];
    for (let i = shard; i < E.count; i += of) indices.push(i);
  }

  const counts = zeroCounts();
  const results: CandidateResult[] = [];
  const every = opts.progressEvery ?? 500;
  const names = E.inputNames;
  indices.forEach((index, done) => {
    if (opts.onProgress && done % every === 0) opts.onProgress(done, indices.length);
    counts.assigned++;
    const expr = E.expr(index);
    const base = { index, size: E.size[index]!, template: E.format(index), expr };
    const finish = (r: Omit<CandidateResult, keyof typeof base | 'formula'>): void => {
      if (r.accepted) counts.accepted++;
      if (r.accepted || opts.keepRejected) {
        results.push({ ...base, formula: E.format(index, { params: r.params }), ...r });
      }
    };
    if (!E.hasInput[index]) {
      counts.constant++;
      finish({ params: new Array<number>(E.nParams[index]!).fill(1), trueRatio: 1, randomRatio: 1, randomParams: [], accepted: false, reason: 'constant' });
      return;
    }
    const prog = compile(expr);
    if (prog.nParams === 0) counts.parameterFree++;
    else counts.fitted++;
    const t = trueFit.fit(prog, new Rng(deriveSeed(seed, `symbolic/fit/${index}`)), fitOpts);
    counts.fitIterations += t.steps;
    const rejected = (reason: CandidateResult['reason']): void => finish({ params: t.params, trueRatio: t.ratio, randomRatio: 1, randomParams: [], accepted: false, reason });
    if (t.nonFinite) {
      counts.nonFinite++;
      return rejected('non-finite');
    }
    if (t.degenerate) {
      counts.degenerate++;
      return rejected('degenerate');
    }
    // The random ratio is at most 1, so a true ratio above 1/factor can never pass.
    if (t.ratio * filter.factor > 1) {
      counts.notConserved++;
      return rejected('not-conserved');
    }
    counts.randomFitted++;
    const r = randomFit.fit(prog, new Rng(deriveSeed(seed, `symbolic/fit-random/${index}`)), fitOpts);
    counts.fitIterations += r.steps;
    const accepted = r.ratio >= filter.factor * t.ratio;
    if (!accepted) counts.rejectedByRandom++;
    finish({ params: t.params, trueRatio: t.ratio, randomRatio: r.ratio, randomParams: r.params, accepted, ...(accepted ? {} : { reason: 'random' as const }) });
  });
  if (opts.onProgress) opts.onProgress(indices.length, indices.length);

  return {
    system: system.name,
    depth: opts.depth,
    seed,
    shard,
    of,
    enumerated: E.count,
    config: JSON.stringify({ system, depth: opts.depth, seed, fit: fitOpts, filter, candidates: opts.candidates ? [...new Set(opts.candidates)].sort((a, b) => a - b) : 'all', data: dataFingerprint(opts.data), keepRejected: !!opts.keepRejected }),
    counts,
    results,
  };
}

/** A cheap checksum of the data, so shards fitted on different data refuse to merge. */
function dataFingerprint(d: SequenceBatch): string {
  let h = 0x811c9dc5;
  let s = 0;
  for (let i = 0; i < d.values.length; i++) {
    s += d.values[i]! * ((i % 97) + 1);
    h = Math.imul(h ^ Math.round(d.values[i]! * 1e6), 0x01000193) >>> 0;
  }
  return `${d.sequences}x${d.steps}x${d.dim}:${h.toString(16)}:${s.toPrecision(12)}`;
}

/** Lower is better: true ratio (floored at `tie`, below which values are rounding noise), then size, then index. */
export function rankCandidates(results: readonly CandidateResult[], tie = 1e-12): CandidateResult[] {
  return results
    .filter((r) => r.accepted)
    .sort((a, b) => Math.max(a.trueRatio, tie) - Math.max(b.trueRatio, tie) || a.size - b.size || a.index - b.index);
}

/**
 * The candidates (in their order) that are not spellings of an earlier one: two formulas whose
 * values on `states` are affinely related (|correlation| ≥ 1 − tol: a·g + b conserves what g does)
 * are one law. Without this, 15 spellings of one law (`x^2 + px^2`, `x^2 - (-1)*px^2`, …) can fill
 * every `--max-ranked` slot and crowd out a second, different law (angular momentum beside energy).
 * `states` is [n, dim] row-major.
 */
export function distinctLaws<C extends { expr: Expr; params: number[] }>(candidates: readonly C[], states: ArrayLike<number>, dim: number, tol = 1e-6): C[] {
  const kept: { c: C; z: Float64Array }[] = [];
  for (const c of candidates) {
    const v = evaluate(c.expr, c.params, states, dim);
    const n = v.length;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += v[i]! / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (v[i]! - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    const z = Float64Array.from(v, (x) => (sd > 0 ? (x - mean) / sd : 0));
    const same = kept.some((k) => {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += z[i]! * k.z[i]!;
      return Math.abs(dot / n) >= 1 - tol;
    });
    if (!same) kept.push({ c, z });
  }
  return kept.map((k) => k.c);
}

/** Joins the shards of one search; the result does not depend on how many there were. */
export function mergeShards(parts: readonly ShardResult[]): SearchResult {
  if (!parts.length) throw new Error('mergeShards: no shard results given');
  const first = parts[0]!;
  const seen = new Set<number>();
  for (const p of parts) {
    if (p.config !== first.config) throw new Error(`mergeShards: shard ${p.shard}/${p.of} was run with a different configuration (system, depth, seed, fit, filter or data) than shard ${first.shard}/${first.of}`);
    if (p.of !== first.of) throw new Error(`mergeShards: shard ${p.shard} says of=${p.of}, another of=${first.of}`);
    if (seen.has(p.shard)) throw new Error(`mergeShards: shard ${p.shard}/${p.of} given twice`);
    seen.add(p.shard);
  }
  const missing = Array.from({ length: first.of }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`mergeShards: missing shard(s) ${missing.join(', ')} of ${first.of}`);
  const counts = zeroCounts();
  for (const p of parts) for (const k of Object.keys(counts) as (keyof StageCounts)[]) counts[k] += p.counts[k];
  const results = parts.flatMap((p) => p.results).sort((a, b) => a.index - b.index);
  return { system: first.system, depth: first.depth, seed: first.seed, enumerated: first.enumerated, config: first.config, counts, results, ranked: rankCandidates(results) };
}

/** The whole search in one process (= mergeShards of one shard). */
export function search(opts: Omit<SearchShardOptions, 'shard' | 'of'>): SearchResult {
  return mergeShards([searchShard({ ...opts, shard: 0, of: 1 })]);
}

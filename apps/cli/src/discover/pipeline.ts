// The discovery pipeline (Noether Networks, workshop appendix C): data → candidate search
// (enumerate, fit, filter; worker threads, shardable) → pre-train the MLP → rank survivors by
// usefulness (one tailoring step at lr 10^k) → meta-tailor the top ones (mode 'noether', φ = the
// formula's parameters), the fine-tuned vanilla MLP and the oracle (worker threads) → pick by
// long-term training MSE → report test RMSE against the vanilla MLP and the oracle (true conserved
// quantity).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, disposeParams, imageToPng, linePlot, interrupted, tidy, type Params } from '@noether/core';
import { VectorFieldPredictor, type Integrator } from '@noether/predictors-mlp';
import { MAX_ENUMERATION_SIZE, distinctLaws, formatExpr, symbolicEmbedding, type FitOptions, type SearchResult, type ShardResult } from '@noether/embeddings-symbolic';
import { writeFileAtomic, writeJsonAtomic } from '../run/fs-atomic.js';
import { CliError } from '../cli/errors.js';
import { Interrupted } from '../run/runner.js';
import { loadDiscoverData, type DataSpec, type DiscoverData } from './data.js';
import { CHUNKS, chunksOfShard, mergeChunks, runChunks, type ChunkJob } from './search-pool.js';
import { embeddingScale, rolloutErrors, scaledEmbedding, type RolloutErrors, type Tailoring } from './evaluate.js';
import { fromPlain, jobTailoring, runMetaJobs, toPlain, type MetaContext, type MetaJob, type MetaJobResult, type PlainParams } from './meta-pool.js';
import { runPretrain } from './pretrain-pool.js';

export interface DiscoverOptions {
  data: DataSpec;
  /** Maximum formula size (nodes); the paper's 7. */
  depth: number;
  seed: number;
  quick: boolean;
  pretrainSteps: number;
  /** Meta-tailoring epochs per candidate (paper: 100). */
  epochs: number;
  /** Candidates meta-tailored (paper: 20). */
  topK: number;
  /** Survivors scored by the lr sweep, best search ratio first (default: all). */
  maxRanked?: number;
  /** k of the lr sweep 10^k. */
  lrExponents: number[];
  batchSize: number;
  /** Hidden width of the MLP (HNN: 200). */
  hidden?: number;
  /** Also pre-train the HNN (same net, symplectic gradient of one output) as a baseline. */
  hnn?: boolean;
  /** How every model (MLP, HNN) steps its learned field over dt: 'euler' (default) or 'rk4'. */
  integrator?: Integrator;
  lrTheta: number;
  lrPhi: number;
  fit?: Partial<FitOptions>;
}

export interface RunContext {
  workers: number;
  log(line: string): void;
  signal?: AbortSignal;
  backend: string;
}

const now = () => performance.now() / 1000;

/** Throttled progress lines: at most one per `every` seconds of the stage (not of the process), plus the last. */
function throttle(log: (l: string) => void, every = 5) {
  let last = now();
  return (line: string, final = false) => {
    const t = now();
    if (final || t - last >= every) {
      last = t;
      log(line);
    }
  };
}

export function chunkJob(o: DiscoverOptions, d: DiscoverData): ChunkJob {
  return { system: d.system, depth: o.depth, seed: o.seed, data: { values: Float64Array.from(d.train), sequences: d.nTrain, steps: d.T, dim: d.dim }, fit: o.fit };
}

// Ctrl-C (ctx.signal) stops discover at the next step boundary of whatever stage runs (a search
// chunk, pre-training, one rollout of the sweep, a meta-tailoring step) with an Interrupted: the
// command maps it to exit 130. Only a finished search is kept (runDiscover); nothing else resumes.

/** Stops here when Ctrl-C was pressed; first lets the event loop deliver it (the stages are synchronous). */
async function checkInterrupt(ctx: RunContext, stage: string, step: number): Promise<void> {
  if (await interrupted(ctx.signal)) throw new Interrupted(stage, step);
}

async function searchChunks(o: DiscoverOptions, d: DiscoverData, chunks: number[], ctx: RunContext) {
  const p = throttle(ctx.log);
  const t0 = now();
  const r = await runChunks(chunkJob(o, d), chunks, ctx.workers, (done, total) => p(`[search] ${done}/${total}+ candidates fitted (${(now() - t0).toFixed(0)} s)`), ctx.signal);
  if (r.stopped) throw new Interrupted('the search', r.results.length);
  if (r.pool.note) ctx.log(`[search] ${r.pool.note}`);
  ctx.log(`[search] done in ${(now() - t0).toFixed(1)} s on ${r.pool.workers} worker(s)`);
  return { ...r, seconds: now() - t0 };
}

export interface ShardFile {
  kind: 'noether-discover-shard';
  chunks: number;
  shard: number;
  of: number;
  options: DiscoverOptions;
  results: ShardResult[];
  seconds: number;
}

/** `--shard i/n`: only this machine's part of the search, written for `noether discover merge`. */
export async function runShard(o: DiscoverOptions, shard: { i: number; n: number }, outDir: string, ctx: RunContext): Promise<string> {
  const d = loadDiscoverData(o.data);
  const r = await searchChunks(o, d, chunksOfShard(shard.i, shard.n), ctx);
  return writeShard(outDir, shard, o, r);
}

function writeShard(outDir: string, shard: { i: number; n: number }, o: DiscoverOptions, r: { results: ShardResult[]; seconds: number }): string {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `shard-${shard.i}-of-${shard.n}.json`);
  const out: ShardFile = { kind: 'noether-discover-shard', chunks: CHUNKS, shard: shard.i, of: shard.n, options: o, results: r.results, seconds: r.seconds };
  writeJsonAtomic(file, out);
  return file;
}

/** Reads shard files of one run: the options they were run with and the merged search. */
export function readShards(files: string[]): { options: DiscoverOptions; search: SearchResult; seconds: number } {
  const parts = files.map((f) => {
    let v: ShardFile;
    try {
      v = JSON.parse(readFileSync(f, 'utf8')) as ShardFile;
    } catch (e) {
      throw new Error(`cannot read shard file ${f}: ${(e as Error).message}`);
    }
    if (v.kind !== 'noether-discover-shard') throw new Error(`${f} is not a discover shard file (written by noether discover --shard i/n)`);
    return { f, v };
  });
  const first = parts[0]!;
  for (const p of parts) {
    if (JSON.stringify(p.v.options) !== JSON.stringify(first.v.options)) throw new Error(`${p.f} was run with other options than ${first.f}: shards of one run must share every flag but --shard`);
  }
  return { options: first.v.options, search: mergeChunks(parts.flatMap((p) => p.v.results)), seconds: parts.reduce((a, p) => Math.max(a, p.v.seconds), 0) };
}

export interface CandidateReport {
  index: number;
  formula: string;
  template: string;
  searchParams: number[];
  trueRatio: number;
  /** The formula's fixed scale 1/σ in tailoring (evaluate.ts, embeddingScale). */
  scale: number;
  /** Best one-step tailoring: training rollout MSE and its lr exponent. */
  sweepMse: number;
  sweepK: number;
  /** Training rollout MSE at each lr of the sweep (options.lrExponents order; null: non-finite). */
  sweep: (number | null)[];
  /** After meta-tailoring. */
  metaParams?: number[];
  trainMse?: number;
  diverged?: string;
}

export interface DiscoverResult {
  version: 1;
  system: string;
  inputs: { name: string; unit: string }[];
  data: { train: number; test: number; length: number; dt: number; source: DataSpec };
  options: Omit<DiscoverOptions, 'data'>;
  backend: string;
  /** Threads of the search (1: in-process, or merged from shard files) and of meta-tailoring. */
  workers: number;
  metaWorkers: number;
  /** The chosen formula with its meta-tailored parameters, e.g. `p^2 - 2.99*cos(q)`. */
  formula: string | null;
  template: string | null;
  /** Fitted by the search (conservation on data) and after meta-tailoring. */
  parameters: { search: number[]; metaTailored: number[] } | null;
  stages: {
    enumerated: number;
    counts: SearchResult['counts'];
    survivors: number;
    sweepScored: number;
    metaTailored: number;
    diverged: number;
  };
  candidates: CandidateReport[];
  /** MSE of long rollouts on the training sequences, untailored: the pre-trained MLP, and the
   * fine-tuned one (the loss its fine-tuning minimised; null when it diverged). */
  trainMse: { vanilla: number; vanillaFinetuned: number | null };
  /** RMSE of long rollouts on the test sequences (see docs/results.md). */
  rmse: { vanilla: number; vanillaFinetuned: number; noether: number | null; oracle: number | null; hnn?: number };
  curves: { t: number[]; vanilla: number[]; vanillaFinetuned: number[]; noether: number[] | null; oracle: number[] | null; hnn?: number[] };
  oracle: { formula: string; lrExponent: number; scale: number; sweep: (number | null)[] } | null;
  pretrain: { steps: number; firstLoss: number; finalLoss: number; hnnFinalLoss?: number };
  seconds: Record<string, number>;
  notes: string[];
  plot: string;
}

/** vanilla and vanilla+ft: long-term MSE on the training rollouts (what the fine-tuning minimised)
 * and RMSE on the test ones; the fine-tuning's Adam steps (epochs × batches) and lr. */
export interface FinetuneOutcome {
  trainMse: { vanilla: number; finetuned: number };
  testRmse: { vanilla: number; finetuned: number };
  steps: number;
  lrTheta: number;
  sequences: number;
}

/**
 * What a reader needs when the fine-tuned control ends worse than the vanilla MLP on the test
 * rollouts (undefined otherwise). More training making a control worse looks like a bug; the
 * training MSE tells which case it is. Worse there too: the steps overshot. (Audited on quick runs,
 * docs/results.md: where it happened, a plain gradient step with the best length gained at most
 * ~3% of the rollout loss at the pre-trained θ, and Adam's first step, ≈ lr·sign(g) on each of
 * ~41,000 weights, raised it 1.1–28×.) Better there: the extra fit does not carry over to the test
 * sequences.
 */
export function finetuneNote(o: FinetuneOutcome): string | undefined {
  if (!(o.testRmse.finetuned > o.testRmse.vanilla)) return undefined;
  const e = (v: number) => v.toExponential(3);
  const test = `test RMSE ${e(o.testRmse.finetuned)} against ${e(o.testRmse.vanilla)}`;
  const train = `training MSE ${e(o.trainMse.finetuned)} against ${e(o.trainMse.vanilla)}`;
  if (o.trainMse.finetuned > o.trainMse.vanilla) {
    return `vanilla+ft is worse than vanilla on the test rollouts (${test}) and also on the training rollouts it was fine-tuned on (${train}): ` +
      `its ${o.steps} Adam step${o.steps === 1 ? '' : 's'} at --lr-theta ${o.lrTheta} overshot. Adam's first steps move every weight by about the lr ` +
      `whatever the gradient's size, too far when the pre-trained MLP already sits near a minimum of the rollout loss (as when its dx/dt targets ` +
      `are finite differences of the samples, which Euler steps reproduce). The Noether model's θ takes the same steps, so compare Noether with ` +
      `vanilla+ft for what tailoring adds; a smaller --lr-theta gives smaller steps`;
  }
  return `vanilla+ft fits its training rollouts better than vanilla (${train}) but the test rollouts worse (${test}): ` +
    `the extra training on ${o.sequences} training sequences does not carry over to the test sequences`;
}

/**
 * When the chosen law's meta-tailored model ends above the pre-trained MLP on the training rollouts
 * (undefined otherwise). Meta-training also moves θ: when vanilla+ft (the same θ steps, untailored;
 * null when it diverged) rose further, the rise is the steps', not the law's.
 */
export function tailoringNote(formula: string, trainMse: { noether: number; vanilla: number; finetuned: number | null }): string | undefined {
  const { noether, vanilla, finetuned: ft } = trainMse;
  if (!(noether > vanilla)) return undefined;
  const e = (v: number) => v.toExponential(3);
  const stepsToo = ft !== null && Number.isFinite(ft) && ft > vanilla;
  const head = `meta-tailoring with ${formula} raises the long-term training MSE (${e(noether)} against ${e(vanilla)} untailored`;
  if (stepsToo && noether <= ft) return `${head}), but less than the same θ steps without tailoring (vanilla+ft ${e(ft)}): the rise is the meta-training's, and tailoring with the law lowers it`;
  return `${head}${stepsToo ? `; vanilla+ft, the same θ steps without tailoring, ${e(ft)}` : ''}): it is not a useful conservation law for this model`;
}

/** Runs everything from the data (or from a merged search) to result.json and the plot. */
export async function runDiscover(o: DiscoverOptions, outDir: string, ctx: RunContext, merged?: { search: SearchResult; seconds: number }): Promise<DiscoverResult> {
  const seconds: Record<string, number> = {};
  const notes: string[] = [];
  let t = now();
  const d = loadDiscoverData(o.data);
  if (o.hnn && d.dim % 2 !== 0) {
    throw new CliError(`--hnn needs an even number of state columns (q₁…qₙ then p₁…pₙ); the data has ${d.dim} (${d.inputs.map((i) => i.name).join(', ')}): leave --hnn off`);
  }
  seconds.data = now() - t;
  ctx.log(`[data] ${d.name}: ${d.nTrain} train / ${d.nTest} test sequences of ${d.T} steps, dt ${d.dt.toPrecision(4)}; ${d.pairs.n} (x, dx/dt) pairs`);

  // 1. search
  let search: SearchResult;
  let workers = 1;
  if (merged) {
    search = merged.search;
    seconds.search = merged.seconds;
  } else {
    const r = await searchChunks(o, d, Array.from({ length: CHUNKS }, (_, c) => c), ctx);
    search = mergeChunks(r.results);
    seconds.search = r.seconds;
    workers = r.pool.workers;
    try {
      return await afterSearch(o, d, outDir, ctx, search, workers, seconds, notes);
    } catch (e) {
      // The search is most of a run's time: kept as the one shard of a one-machine run, `merge` resumes from it.
      if (!(e instanceof Interrupted)) throw e;
      const file = writeShard(outDir, { i: 0, n: 1 }, o, r);
      ctx.log(`[interrupt] the finished search is kept in ${file}; finish the run with: noether discover merge --out ${outDir} ${file}`);
      throw e;
    }
  }
  return afterSearch(o, d, outDir, ctx, search, workers, seconds, notes);
}

/** Stages 2–5 (pre-training, sweep, meta-tailoring, test) and the outputs, after the search. */
async function afterSearch(
  o: DiscoverOptions, d: DiscoverData, outDir: string, ctx: RunContext, search: SearchResult, workers: number,
  seconds: Record<string, number>, notes: string[],
): Promise<DiscoverResult> {
  let t: number;
  const survivors = search.ranked;
  ctx.log(`[search] ${search.enumerated} enumerated, ${search.counts.fitted} fitted, ${search.counts.accepted} accepted`);
  const warn = (note: string) => {
    notes.push(note);
    ctx.log(`note: ${note}`);
  };
  if (!survivors.length) {
    const deeper = o.depth < MAX_ENUMERATION_SIZE ? `--depth ${o.depth + 1}, at most ${MAX_ENUMERATION_SIZE}` : `${MAX_ENUMERATION_SIZE} is the most the search takes`;
    warn(`no formula of up to ${o.depth} nodes passed the conservation filter: a law may need more nodes (${deeper}; p²/2 + q⁴/4 needs 8), other --inputs units, or there may be none`);
  }
  // Within a few samples any smooth function barely changes, so the filter against random sequences
  // accepts formulas that are not conserved (seen: laws 'found' for a damped oscillator at 2–3 samples).
  if (d.T < 5) warn(`sequences of ${d.T} samples make the conservation filter weak: survivors are not evidence of a conserved quantity; use longer sequences (--seq-length)`);

  // 2. pre-train
  t = now();
  const field = { dt: d.dt, hidden: o.hidden ?? 200, stateDim: d.dim, integrator: o.integrator ?? 'euler' };
  const predictor = new VectorFieldPredictor('mlp', field);
  const pretrainJob = { backend: tf.getBackend(), field, seed: o.seed, pairs: d.pairs, steps: o.pretrainSteps, lr: 1e-3, weightDecay: d.weightDecay };
  const pt = throttle(ctx.log);
  const pre = await runPretrain({ ...pretrainJob, kind: 'mlp' }, {
    signal: ctx.signal, onProgress: (r) => pt(`[pretrain] step ${r.step}/${r.steps} loss ${r.loss.toExponential(3)}`, r.step === r.steps),
  });
  if (!pre) throw new Interrupted('pre-training', 0);
  const theta = pre.params;
  seconds.pretrain = now() - t;

  // The HNN baseline (Greydanus et al.): same net and training, the field is the symplectic
  // gradient of output 0; rolled out untailored like the vanilla MLP.
  let hnn: { predictor: VectorFieldPredictor; theta: Params; finalLoss: number } | undefined;
  if (o.hnn) {
    t = now();
    const ph = throttle(ctx.log);
    const r = await runPretrain({ ...pretrainJob, kind: 'hnn' }, {
      signal: ctx.signal, onProgress: (x) => ph(`[pretrain hnn] step ${x.step}/${x.steps} loss ${x.loss.toExponential(3)}`, x.step === x.steps),
    });
    if (!r) throw new Interrupted('pre-training the HNN', 0);
    hnn = { predictor: new VectorFieldPredictor('hnn', field), theta: r.params, finalLoss: r.losses[r.losses.length - 1]! };
    seconds.pretrainHnn = now() - t;
  }

  const trainSet = { values: d.train, n: d.nTrain, T: d.T };
  const testSet = { values: d.test, n: d.nTest, T: d.T };
  const score = (mse: number) => (Number.isFinite(mse) ? mse : Infinity);

  const sweep = async (embedding: Tailoring['embedding'], phi: Params, stage: string, step: number): Promise<{ mse: number; k: number; curve: (number | null)[] }> => {
    // (embedding already scaled: see embeddingScale)
    let best = { mse: Infinity, k: NaN };
    const curve: (number | null)[] = [];
    for (const k of o.lrExponents) {
      await checkInterrupt(ctx, stage, step);
      const m = score(rolloutErrors(predictor, theta, trainSet, { embedding, phi, lr: 10 ** k }).mse);
      curve.push(Number.isFinite(m) ? m : null);
      if (m < best.mse) best = { mse: m, k };
    }
    return { ...best, curve };
  };

  // 3. usefulness: one tailoring step at each lr, on the training sequences
  t = now();
  const vanillaTrain = rolloutErrors(predictor, theta, trainSet).mse;
  // One entry per law: spellings of a law already ranked are dropped before the --max-ranked cut.
  const laws = distinctLaws(survivors, d.train, d.dim);
  if (laws.length < survivors.length) notes.push(`${survivors.length - laws.length} of ${survivors.length} survivors are spellings of a better-ranked one (affinely related on the training states) and were not scored again`);
  const ranked = o.maxRanked !== undefined ? laws.slice(0, o.maxRanked) : laws;
  if (ranked.length < laws.length) notes.push(`usefulness sweep limited to the ${ranked.length} distinct survivors with the best search ratio (of ${laws.length}; --max-ranked)`);
  const reports: CandidateReport[] = [];
  const ps = throttle(ctx.log);
  for (const [i, c] of ranked.entries()) {
    const emb = symbolicEmbedding(c.expr, c.params);
    const phi = emb.init(0);
    const scale = embeddingScale(emb, phi, trainSet);
    const s = await sweep(scaledEmbedding(emb, scale), phi, 'the lr sweep', i).finally(() => disposeParams(phi));
    reports.push({ index: c.index, formula: c.formula, template: c.template, searchParams: c.params, trueRatio: c.trueRatio, scale, sweepMse: s.mse, sweepK: s.k, sweep: s.curve });
    ps(`[rank] ${i + 1}/${ranked.length} scored (last: ${c.formula} → ${s.mse.toExponential(3)} at lr 1e${s.k})`, i + 1 === ranked.length);
  }
  reports.sort((a, b) => a.sweepMse - b.sweepMse || a.index - b.index);
  seconds.rank = now() - t;
  ctx.log(`[rank] untailored training MSE ${vanillaTrain.toExponential(3)}; best one-step: ${reports.slice(0, 3).map((r) => `${r.formula} ${r.sweepMse.toExponential(3)}`).join(', ')}`);

  // 4. meta-tailor the top K, and the fine-tuned vanilla baseline and the oracle: independent jobs
  // from the pre-trained θ, spread over the workers (meta-pool.ts; results do not depend on them)
  t = now();
  const top = reports.filter((r) => Number.isFinite(r.sweepMse)).slice(0, o.topK);
  const candidate = (r: CandidateReport) => ranked.find((x) => x.index === r.index)!;
  const inputNames = d.inputs.map((x) => x.name);
  const jobs: MetaJob[] = top.map((r) => ({ label: `candidate ${r.formula}`, mode: 'noether', embedding: { expr: candidate(r).expr, params: candidate(r).params }, scale: r.scale, lr: 10 ** r.sweepK }));
  const ftJob = jobs.push({ label: 'the fine-tuned vanilla baseline', mode: 'baseline', lr: 0 }) - 1;
  const oracleScale = d.oracle ? embeddingScale(d.oracle.embedding, {}, trainSet) : 1;
  const oracleSweep = d.oracle && (await sweep(scaledEmbedding(d.oracle.embedding, oracleScale), {}, 'the oracle lr sweep', 0));
  const oracleJob = d.oracle && Number.isFinite(oracleSweep!.mse)
    ? jobs.push({ label: `the oracle ${d.oracle.formula}`, mode: 'oracle', embedding: { oracle: d.oracle.key }, scale: oracleScale, lr: 10 ** oracleSweep!.k }) - 1
    : undefined;
  const metaCtx: MetaContext = {
    backend: tf.getBackend(), field, theta: toPlain(theta), train: trainSet,
    options: { epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, lrTheta: o.lrTheta, lrPhi: o.lrPhi },
  };
  const pm = top.map(() => throttle(ctx.log));
  const metaParamsOf = (phi: PlainParams) => Object.keys(phi).sort().map((k) => phi[k]!.values[0]!);
  let metaSteps = 0;
  const { results, pool, stopped } = await runMetaJobs(metaCtx, jobs, {
    workers: ctx.workers, signal: ctx.signal,
    onStep: (j, s, n, l) => {
      metaSteps++;
      if (j < top.length) pm[j]!(`[meta ${j + 1}/${top.length}] ${top[j]!.formula}: step ${s}/${n} loss ${l.toExponential(3)}`, s === n);
    },
    onDone: (j, out) => {
      const r = top[j];
      if (!r) return;
      if (out.diverged) ctx.log(`[meta] ${r.formula} diverged: dropped`);
      else if (Number.isFinite(out.trainMse)) ctx.log(`[meta] ${r.formula} → ${formatExpr(candidate(r).expr, { params: metaParamsOf(out.phi), inputNames })}: long-term training MSE ${out.trainMse!.toExponential(3)}`);
    },
  });
  if (stopped) throw new Interrupted('meta-tailoring', metaSteps);
  // In `top` order, whatever order the jobs finished in.
  let best: { j: number; r: CandidateReport; out: MetaJobResult } | undefined;
  for (const [j, r] of top.entries()) {
    const out = results[j]!;
    if (out.diverged) {
      r.diverged = out.diverged;
      notes.push(`candidate ${r.formula} diverged while meta-tailoring and was dropped (${out.diverged})`);
      continue;
    }
    r.metaParams = metaParamsOf(out.phi);
    r.trainMse = score(out.trainMse!);
    if (!Number.isFinite(r.trainMse)) {
      r.diverged = 'non-finite training rollout after meta-tailoring';
      notes.push(`candidate ${r.formula} gave a non-finite rollout after meta-tailoring and was dropped`);
      continue;
    }
    if (!best || r.trainMse < best.r.trainMse!) best = { j, r, out };
  }
  if (pool.note) ctx.log(`[meta] ${pool.note}`);
  ctx.log(`[meta] ${jobs.length} meta-tailoring runs done in ${(now() - t).toFixed(1)} s on ${pool.workers} worker(s)`);
  seconds.meta = now() - t;

  // 5. baselines and test; a meta-tailored job is tested with the embedding (and scale) it was trained with
  await checkInterrupt(ctx, 'the test', 0);
  t = now();
  const tested = (j: number, out: MetaJobResult) =>
    tidy(() => rolloutErrors(predictor, fromPlain(out.theta), testSet, { ...jobTailoring(jobs[j]!)!, phi: fromPlain(out.phi) }));
  const vanilla = rolloutErrors(predictor, theta, testSet);
  const hnnErr = hnn ? rolloutErrors(hnn.predictor, hnn.theta, testSet) : undefined;
  if (hnn) disposeParams(hnn.theta);
  const ft = results[ftJob]!;
  const vanillaFt = ft.diverged ? undefined : tidy(() => rolloutErrors(predictor, fromPlain(ft.theta), testSet));
  if (ft.diverged) notes.push(`the fine-tuned vanilla baseline diverged (${ft.diverged})`);
  const ftTrain = ft.diverged ? null : score(ft.trainMse!);
  if (vanillaFt && ftTrain !== null) {
    const steps = o.epochs * (Math.floor(d.nTrain / Math.min(o.batchSize, d.nTrain)) || 1);
    const note = finetuneNote({
      trainMse: { vanilla: vanillaTrain, finetuned: ftTrain }, testRmse: { vanilla: vanilla.rmse, finetuned: vanillaFt.rmse },
      steps, lrTheta: o.lrTheta, sequences: d.nTrain,
    });
    if (note) warn(note);
  }
  let noether: RolloutErrors | undefined;
  let chosen: { formula: string; template: string; search: number[]; meta: number[] } | undefined;
  if (best) {
    const { j, r, out } = best;
    const c = candidate(r);
    noether = tested(j, out);
    chosen = { formula: formatExpr(c.expr, { params: r.metaParams!, inputNames }), template: c.template, search: c.params, meta: r.metaParams! };
    // What the reader of result.json should not have to work out: tailoring that hurts on the
    // training data, and an lr chosen at the edge of its grid (the best one may lie beyond).
    const raised = tailoringNote(chosen.formula, { noether: r.trainMse!, vanilla: vanillaTrain, finetuned: ftTrain });
    if (raised) warn(raised);
    const ks = o.lrExponents;
    if (ks.length > 2 && (r.sweepK === Math.max(...ks) || r.sweepK === Math.min(...ks))) warn(`the tailoring lr of ${r.formula} was picked at the edge of the grid (10^${r.sweepK}): extend --lr-exponents past it`);
  } else notes.push('no candidate survived to meta-tailoring: no Noether result');
  let oracle: RolloutErrors | undefined;
  let oracleInfo: DiscoverResult['oracle'] = null;
  if (d.oracle) {
    const out = oracleJob !== undefined ? results[oracleJob]! : undefined;
    if (out?.diverged) notes.push(`the oracle diverged while meta-tailoring (${out.diverged})`);
    else if (out) {
      oracle = tested(oracleJob!, out);
      oracleInfo = { formula: d.oracle.formula, lrExponent: oracleSweep!.k, scale: oracleScale, sweep: oracleSweep!.curve };
    }
  } else notes.push('no oracle: the conserved quantity of this data is not known');
  seconds.test = now() - t;

  const times = Array.from({ length: d.T - 1 }, (_, i) => (i + 1) * d.dt);
  mkdirSync(outDir, { recursive: true });
  const plotFile = join(outDir, 'rollout-error.png');
  const series = [
    { name: 'vanilla MLP', x: times, y: vanilla.perStep },
    ...(hnnErr ? [{ name: 'HNN', x: times, y: hnnErr.perStep }] : []),
    ...(noether ? [{ name: `Noether: ${chosen!.formula}`, x: times, y: noether.perStep }] : []),
    ...(oracle ? [{ name: `oracle: ${oracleInfo!.formula}`, x: times, y: oracle.perStep }] : []),
  ];
  writeFileAtomic(plotFile, imageToPng(linePlot({ series, title: `${d.name}: rollout RMSE on test sequences`, xLabel: 'time', yLabel: 'RMSE', logY: true })));

  const result: DiscoverResult = {
    version: 1,
    system: d.name,
    inputs: d.inputs,
    data: { train: d.nTrain, test: d.nTest, length: d.T, dt: d.dt, source: o.data },
    options: (({ data: _d, ...rest }) => rest)(o),
    backend: ctx.backend,
    workers,
    metaWorkers: pool.workers,
    formula: chosen?.formula ?? null,
    template: chosen?.template ?? null,
    parameters: chosen ? { search: chosen.search, metaTailored: chosen.meta } : null,
    stages: {
      enumerated: search.enumerated, counts: search.counts, survivors: survivors.length, sweepScored: reports.length,
      metaTailored: top.filter((r) => !r.diverged).length, diverged: top.filter((r) => r.diverged).length,
    },
    candidates: reports.slice(0, Math.max(o.topK, 20)),
    trainMse: { vanilla: vanillaTrain, vanillaFinetuned: ftTrain },
    rmse: { vanilla: vanilla.rmse, vanillaFinetuned: vanillaFt?.rmse ?? NaN, noether: noether?.rmse ?? null, oracle: oracle?.rmse ?? null, ...(hnnErr ? { hnn: hnnErr.rmse } : {}) },
    curves: { t: times, vanilla: vanilla.perStep, vanillaFinetuned: vanillaFt?.perStep ?? [], noether: noether?.perStep ?? null, oracle: oracle?.perStep ?? null, ...(hnnErr ? { hnn: hnnErr.perStep } : {}) },
    oracle: oracleInfo,
    pretrain: { steps: o.pretrainSteps, firstLoss: pre.losses[0]!, finalLoss: pre.losses[pre.losses.length - 1]!, ...(hnn ? { hnnFinalLoss: hnn.finalLoss } : {}) },
    seconds,
    notes,
    plot: 'rollout-error.png',
  };
  writeJsonAtomic(join(outDir, 'result.json'), result);
  disposeParams(theta);
  return result;
}

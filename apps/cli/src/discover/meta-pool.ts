// Meta-tailoring spread over worker threads: the top candidates, the fine-tuned vanilla baseline
// and the oracle are independent jobs from the same pre-trained θ. A job is deterministic (seeded
// batches) and a worker computes it with the main thread's tfjs backend, so its outcome is the same
// in-process or on any worker: results do not depend on the number of workers. Jobs run on a shared
// queue over `workers` threads (meta-worker.ts); in-process when workers ≤ 1, when running from
// TypeScript sources (no compiled worker), and on the native backend (tfjs-node does not load in
// worker threads: tensorflow/tfjs#2079, #8388; it uses every core itself).
import { tf, disposeParams, type MetaMode, type Params } from '@noether/core';
import { VectorFieldPredictor, type Integrator } from '@noether/predictors-mlp';
import { symbolicEmbedding, type Expr } from '@noether/embeddings-symbolic';
import { oracleOf, type OracleKey } from './data.js';
import { metaTailor, rolloutErrors, scaledEmbedding, type MetaOptions, type Sequences, type Tailoring } from './evaluate.js';
import { compiledWorker, runQueue, type PoolReport } from './worker-queue.js';

/** Parameters as plain arrays: they cross threads by structured clone. */
export type PlainParams = Record<string, { values: Float32Array; shape: number[] }>;

export function toPlain(p: Params): PlainParams {
  const out: PlainParams = {};
  for (const [k, t] of Object.entries(p)) out[k] = { values: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape };
  return out;
}

export function fromPlain(p: PlainParams): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = tf.tensor(v.values, v.shape);
  return out;
}

/** What every job shares; sent once to each worker. */
export interface MetaContext {
  /** The main thread's tfjs backend (tf.getBackend()); workers select the same one. */
  backend: string;
  field: { dt: number; hidden: number; stateDim: number; integrator: Integrator };
  /** The pre-trained θ every job starts from. */
  theta: PlainParams;
  train: Sequences;
  options: Omit<MetaOptions, 'signal' | 'onStep'>;
}

export interface MetaJob {
  /** Names the job in errors, e.g. the candidate's formula. */
  label: string;
  mode: MetaMode;
  /** The conservation embedding: a searched formula with its initial φ, or a built-in oracle; none for 'baseline'. */
  embedding?: { expr: Expr; params: number[] } | { oracle: OracleKey };
  /** The embedding's fixed scale (evaluate.ts, embeddingScale). */
  scale?: number;
  /** Inner (tailoring) lr per sequence. */
  lr: number;
}

export interface MetaJobResult {
  theta: PlainParams;
  phi: PlainParams;
  /** Training rollout MSE after meta-training: tailored (one step at lr) for 'noether' and 'oracle'
   * jobs, untailored for 'baseline' (the loss its fine-tuning minimised: whether that went down). */
  trainMse?: number;
  /** Set when meta-training hit a NaN/Inf: the job is dropped. */
  diverged?: string;
  /** Set when the signal aborted (Ctrl-C) mid-job: nothing else is set. */
  stopped?: boolean;
}

export function jobTailoring(job: MetaJob): Tailoring | undefined {
  const e = job.embedding;
  if (!e) return undefined;
  const scale = job.scale ?? 1;
  if ('oracle' in e) return { embedding: scaledEmbedding(oracleOf(e.oracle).embedding, scale), phi: {}, lr: job.lr };
  const embedding = scaledEmbedding(symbolicEmbedding(e.expr, e.params), scale);
  return { embedding, phi: embedding.init(0), lr: job.lr };
}

type StepFn = (step: number, total: number, loss: number) => void;

/** Runs jobs against one context, in this thread: the pool's in-process path and each worker's. */
export function metaRunner(ctx: MetaContext) {
  const predictor = new VectorFieldPredictor('mlp', ctx.field);
  const theta = fromPlain(ctx.theta);
  return {
    async run(job: MetaJob, signal?: AbortSignal, onStep?: StepFn): Promise<MetaJobResult> {
      const t = jobTailoring(job);
      const out = await metaTailor(predictor, theta, ctx.train, job.mode, { ...ctx.options, signal, onStep }, t);
      disposeParams(t?.phi);
      if (out.stopped) return { theta: {}, phi: {}, stopped: true };
      if (out.diverged) return { theta: {}, phi: {}, diverged: out.diverged };
      const trainMse = rolloutErrors(predictor, out.theta, ctx.train, t && { ...t, phi: out.phi }).mse;
      const r = { theta: toPlain(out.theta), phi: toPlain(out.phi), trainMse };
      disposeParams(out.theta, out.phi);
      return r;
    },
    dispose: () => disposeParams(theta),
  };
}

/** Main thread → worker. */
export type ToWorker = { kind: 'job'; index: number; job: MetaJob };
/** Worker → main thread. */
export type FromWorker =
  | { kind: 'step'; index: number; step: number; total: number; loss: number }
  | { kind: 'done'; index: number; result: MetaJobResult }
  | { kind: 'error'; index: number; error: string };

export interface MetaPoolOptions {
  workers: number;
  /** Aborted (Ctrl-C): in-process, the job stops after its current step; workers are terminated at once. */
  signal?: AbortSignal;
  onStep?: (job: number, step: number, total: number, loss: number) => void;
  /** A job finished (in completion order, which depends on the workers). */
  onDone?: (job: number, r: MetaJobResult) => void;
}

/** Runs the jobs; results come back in job order, or `stopped` (with no results) when the signal aborted. */
export async function runMetaJobs(ctx: MetaContext, jobs: MetaJob[], o: MetaPoolOptions): Promise<{ results: MetaJobResult[]; pool: PoolReport; stopped: boolean }> {
  const url = compiledWorker('./meta-worker.js');
  const results: MetaJobResult[] = [];
  const unavailable = !url ? 'running from sources: no compiled worker' : ctx.backend === 'tensorflow' ? 'tfjs-node does not load in worker threads' : undefined;
  if (o.workers <= 1 || jobs.length <= 1 || unavailable || !url) {
    const pool = { workers: 1, note: o.workers > 1 && jobs.length > 1 && unavailable ? `${unavailable}, meta-tailored in-process` : undefined };
    const runner = metaRunner(ctx);
    try {
      for (const [i, job] of jobs.entries()) {
        const r = await runner.run(job, o.signal, (s, n, l) => o.onStep?.(i, s, n, l));
        if (r.stopped || o.signal?.aborted) return { results: [], pool, stopped: true };
        results.push(r);
        o.onDone?.(i, r);
      }
    } finally {
      runner.dispose();
    }
    return { results, pool, stopped: false };
  }
  // A Ctrl-C terminates the workers mid-step: their jobs' results would be discarded anyway.
  const { workers: n, stopped } = await runQueue({
    url, workerData: { ctx, prod: tf.env().getBool('PROD') }, workers: o.workers, jobs: jobs.length, signal: o.signal,
    post: (index) => ({ kind: 'job', index, job: jobs[index]! }) satisfies ToWorker,
    read: (raw) => {
      const m = raw as FromWorker;
      if (m.kind === 'step') return void o.onStep?.(m.index, m.step, m.total, m.loss);
      if (m.kind === 'error') return { error: m.error };
      results[m.index] = m.result;
      o.onDone?.(m.index, m.result);
      return 'done';
    },
    label: (i) => `meta-tailoring ${jobs[i]!.label}`,
  });
  return { results: stopped ? [] : results, pool: { workers: n }, stopped };
}

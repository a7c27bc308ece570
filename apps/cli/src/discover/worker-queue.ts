// Jobs on a shared queue over worker threads: a worker takes the next job as soon as it finishes
// one, so fast and slow jobs balance. The search (search-pool.ts) and meta-tailoring
// (meta-pool.ts) run on it; each keeps its own message protocol and results, and tells the queue
// only which job a message finished or that it failed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A compiled worker beside this module (e.g. './worker.js'), present when running from dist/ (not from TypeScript sources). */
export function compiledWorker(file: string): URL | undefined {
  const u = new URL(file, import.meta.url);
  return u.protocol === 'file:' && existsSync(fileURLToPath(u)) && import.meta.url.endsWith('.js') ? u : undefined;
}

export interface PoolReport {
  /** Workers actually used (1 = in-process). */
  workers: number;
  note?: string;
}

/** What a worker's message means to the queue: its job is 'done' (the result is the caller's to
 * keep), or it failed; undefined for anything else (progress). */
export type Reply = 'done' | { error: string } | undefined;

export interface QueueOptions {
  url: URL;
  workerData?: unknown;
  /** Threads to start (at most one per job). */
  workers: number;
  /** Jobs 0 … jobs − 1. */
  jobs: number;
  /** The message that hands job i to a worker. */
  post(i: number): unknown;
  read(message: unknown): Reply;
  /** Names job i in errors, e.g. 'meta-tailoring p^2 + q^2' or 'search chunk 3'. */
  label(i: number): string;
  /** Ctrl-C: the workers are terminated at once (a job's partial work is lost) and `stopped` is set. */
  signal?: AbortSignal;
}

/** Runs the jobs; a job that fails, and a worker that dies mid-job (an exit without a message, e.g.
 * out of memory), reject with the job's label. */
export async function runQueue(o: QueueOptions): Promise<{ workers: number; stopped: boolean }> {
  const n = Math.min(o.workers, o.jobs);
  let queued = 0;
  const pool: Worker[] = [];
  const aborted = new Promise<void>((resolve) => (o.signal?.aborted ? resolve() : o.signal?.addEventListener('abort', () => resolve(), { once: true })));
  const all = Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
    const w = new Worker(o.url, { workerData: o.workerData });
    pool.push(w);
    let current: number | undefined;
    const next = () => {
      current = queued < o.jobs ? queued++ : undefined;
      if (current === undefined) return resolve();
      w.postMessage(o.post(current));
    };
    const fail = (why: string) => reject(new Error(`${current === undefined ? 'a worker' : o.label(current)} failed in a worker: ${why}`));
    w.on('message', (m: unknown) => {
      const r = o.read(m);
      if (r === 'done') next();
      else if (r) fail(r.error);
    });
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => current !== undefined && fail(`the worker exited (code ${code})`));
    next();
  })));
  let stopped: boolean;
  try {
    stopped = await Promise.race([all.then(() => false), aborted.then(() => true)]);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return { workers: n, stopped };
}

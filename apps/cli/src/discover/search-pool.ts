// The candidate search spread over worker threads and machines. The candidates are cut into a
// fixed number of chunks (candidate i belongs to chunk i mod CHUNKS; embeddings-symbolic's
// searchShard with of = CHUNKS), and every candidate's randomness depends only on (seed, i), so
// the merged result is the same whatever the number of workers or machines: `--shard i/n` runs
// the chunks c with c mod n = i, and merging all shards' chunks equals the single-machine run.
import { interrupted } from '@noether/core';
import { mergeShards, searchShard, type FitOptions, type SearchResult, type ShardResult, type SystemSpec } from '@noether/embeddings-symbolic';
import { compiledWorker, runQueue, type PoolReport } from './worker-queue.js';

export const CHUNKS = 64;

export interface ChunkJob {
  system: SystemSpec;
  depth: number;
  seed: number;
  data: { values: Float64Array; sequences: number; steps: number; dim: number };
  fit?: Partial<FitOptions>;
}

export function runChunk(job: ChunkJob, chunk: number, onProgress?: (done: number, total: number) => void): ShardResult {
  return searchShard({ ...job, shard: chunk, of: CHUNKS, onProgress, progressEvery: 200 });
}

/** Chunks of machine shard i of n. */
export function chunksOfShard(i: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > CHUNKS) throw new Error(`--shard: n must be an integer in [1, ${CHUNKS}], got ${n}`);
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`--shard: i must be an integer in [0, ${n}), got ${i}`);
  return Array.from({ length: CHUNKS }, (_, c) => c).filter((c) => c % n === i);
}

/**
 * Runs the chunks on `workers` threads (a shared queue, so fast and slow chunks balance);
 * results come back ordered by chunk. workers = 1, or no compiled worker: in-process.
 * When `signal` aborts (Ctrl-C) it stops at the next chunk (in-process) or at once (workers are
 * terminated) and returns `stopped` with the chunks finished so far.
 */
export async function runChunks(
  job: ChunkJob, chunks: number[], workers: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ results: ShardResult[]; pool: PoolReport; stopped: boolean }> {
  const url = compiledWorker('./worker.js');
  const perChunk = new Map<number, number>();
  let total = 0;
  const report = (chunk: number, done: number, tot: number) => {
    if (!perChunk.has(chunk)) total += tot;
    perChunk.set(chunk, done);
    let d = 0;
    for (const v of perChunk.values()) d += v;
    onProgress?.(d, total);
  };
  if (workers <= 1 || !url) {
    const results: ShardResult[] = [];
    for (const c of chunks) {
      // A chunk is synchronous: a Ctrl-C is seen between chunks.
      if (await interrupted(signal)) break;
      results.push(runChunk(job, c, (d, t) => report(c, d, t)));
    }
    const pool = { workers: 1, note: workers > 1 && !url ? 'running from sources: no compiled worker, searched in-process' : undefined };
    return { results, pool, stopped: results.length < chunks.length };
  }
  const out = new Map<number, ShardResult>();
  type FromSearchWorker = { chunk: number; result?: ShardResult; error?: string; progress?: { chunk: number; done: number; total: number } };
  const { workers: n, stopped } = await runQueue({
    url, workers, jobs: chunks.length, signal,
    post: (i) => ({ job, chunk: chunks[i]! }),
    read: (raw) => {
      const m = raw as FromSearchWorker;
      if (m.progress) return void report(m.progress.chunk, m.progress.done, m.progress.total);
      if (m.error) return { error: m.error };
      out.set(m.chunk, m.result!);
      return 'done';
    },
    label: (i) => `the search of chunk ${chunks[i]}`,
  });
  return { results: chunks.filter((c) => out.has(c)).map((c) => out.get(c)!), pool: { workers: n }, stopped };
}

/** Joins chunk results (from one or many machines) into the search result. */
export function mergeChunks(results: ShardResult[]): SearchResult {
  const byChunk = new Map<number, ShardResult>();
  for (const r of results) {
    if (r.of !== CHUNKS) throw new Error(`a shard file holds chunks of ${r.of}; this build cuts the search into ${CHUNKS}`);
    if (byChunk.has(r.shard)) throw new Error(`chunk ${r.shard} appears twice: the same --shard was given twice`);
    byChunk.set(r.shard, r);
  }
  const missing = Array.from({ length: CHUNKS }, (_, c) => c).filter((c) => !byChunk.has(c));
  if (missing.length) throw new Error(`chunks ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''} are missing: merge every --shard i/n file of the run`);
  return mergeShards([...byChunk.values()]);
}

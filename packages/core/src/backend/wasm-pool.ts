// Threads for core's own wasm kernels (the SIMD matrix product, and through it the conv gradients).
// tfjs-backend-wasm threads only XNNPACK's kernels; core's replacements ran on the calling thread
// alone. Where wasm's heap is a shared memory (the threaded build, `wasmThreads` > 1), a pool of
// workers instantiates the same kernel modules over that heap, and a kernel splits its work into
// independent parts (rows of the product), one per thread. Each part computes exactly what the
// single-threaded call computes for those rows, so results are bit-identical for any thread count.
//
// Dispatch is synchronous, as tfjs kernels are: the caller writes each worker's call into a shared
// control block, wakes the workers (Atomics.notify), runs its own part, and waits for theirs. Idle
// workers sleep in Atomics.wait (no spinning: on a 2-core machine a spinning pool steals the core
// the caller needs). Workers are made by a platform hook (`spawn`): core uses no Node-only API; the
// CLI passes worker_threads, and a browser's Worker is the default.

import type { CallTable } from './wasm-asm.js';

/** What the pool needs of a worker: Node's worker_threads.Worker and a browser Worker both fit. */
export interface KernelWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Makes a worker running `source` (plain JavaScript; see WORKER_SOURCE). */
export type SpawnKernelWorker = (source: string) => KernelWorker;

/** A kernel module the pool's workers instantiate: compiled for a shared memory, with the exports
 * called, by `<name>.<export>` (wasm-asm.ts's namedModule makes these). */
export interface PoolModule {
  name: string;
  module: WebAssembly.Module;
  exports: readonly string[];
}

/** One call: a function of the pool's table (`fn`, see KernelPool.fn) and its i32 arguments. */
export interface PoolCall {
  fn: number;
  args: readonly number[];
}

/** What one thread runs in one dispatch: calls in order. */
export type PoolProgram = readonly PoolCall[];

/** A kernel module's call by name (`module.export`) with its i32 arguments: how kernels describe
 * work that may run on this thread or on a pool's worker. */
export type ModuleCall = readonly [name: string, args: readonly number[]];

export interface KernelPool {
  /** Threads a kernel may split its work over: the caller and the workers. */
  readonly threads: number;
  /** Whether every worker has started (until then run() runs everything on the calling thread). */
  started(): boolean;
  /** How many run() calls went to the workers so far. */
  readonly dispatched: number;
  /** Index of `name` (`module.export`) in the call table, for PoolCall.fn. */
  fn(name: string): number;
  /**
   * Runs programs[0] on this thread and programs[i] on worker i − 1, and returns when all are done.
   * Until every worker has started (a few ms after the pool is made) all run here, one after
   * another. Programs must not write what another reads or writes.
   */
  run(programs: readonly PoolProgram[]): void;
  /** Stops the workers. */
  close(): void;
}

const MAX_ARGS = 12;
/** Calls one thread's program may hold. */
export const MAX_POOL_CALLS = 256;
// Control block (Int32): generation, done count, error flag, stop flag, per-worker ready flags, then
// one slot per worker: the number of calls, then per call the function index and MAX_ARGS arguments.
const SEQ = 0;
const DONE = 1;
const ERROR = 2;
const STOP = 3;
const READY = 4;
const CALL = 1 + MAX_ARGS;
const SLOT = 1 + MAX_POOL_CALLS * CALL;
const MAX_WORKERS = 64;
const SLOTS = READY + MAX_WORKERS;

/** The worker: runs in a Node eval worker (require defined) or a browser worker (self.onmessage). */
const WORKER_SOURCE = `
'use strict';
function start(d) {
  const ctrl = new Int32Array(d.ctrl);
  const fns = [];
  for (const m of d.modules) {
    const ex = new WebAssembly.Instance(m.module, { env: { memory: d.memory } }).exports;
    for (const name of m.exports) fns.push(ex[name]);
  }
  const base = ${SLOTS} + d.index * ${SLOT};
  let seq = Atomics.load(ctrl, ${SEQ});
  Atomics.store(ctrl, ${READY} + d.index, 1);
  Atomics.notify(ctrl, ${READY} + d.index);
  const spinMs = d.spinMs;
  for (;;) {
    // Spin a little first: the next kernel of a step often follows within microseconds, and waking
    // from Atomics.wait costs tens of them. Then sleep (a long spin steals a busy machine's core).
    const t0 = performance.now();
    while (Atomics.load(ctrl, ${SEQ}) === seq && performance.now() - t0 < spinMs);
    Atomics.wait(ctrl, ${SEQ}, seq);
    if (Atomics.load(ctrl, ${STOP})) return;
    const now = Atomics.load(ctrl, ${SEQ});
    if (now === seq) continue;
    seq = now;
    const calls = ctrl[base];
    try {
      for (let i = 0, q = base + 1; i < calls; i++, q += ${CALL}) {
        fns[ctrl[q]](ctrl[q + 1], ctrl[q + 2], ctrl[q + 3], ctrl[q + 4], ctrl[q + 5], ctrl[q + 6], ctrl[q + 7], ctrl[q + 8], ctrl[q + 9], ctrl[q + 10], ctrl[q + 11], ctrl[q + 12]);
      }
    } catch (e) { Atomics.store(ctrl, ${ERROR}, 1); }
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
}
if (typeof require === 'function') require('worker_threads').parentPort.once('message', start);
else self.onmessage = (e) => start(e.data);
`;

/** A browser's Worker from source, where the platform has one (core's default spawn). */
function browserWorker(source: string): KernelWorker | undefined {
  const g = globalThis as { Worker?: new (url: string) => KernelWorker; Blob?: typeof Blob; URL?: typeof URL };
  if (typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || typeof g.URL?.createObjectURL !== 'function') return undefined;
  const url = g.URL.createObjectURL(new g.Blob([source], { type: 'text/javascript' }));
  try {
    return new g.Worker(url);
  } finally {
    g.URL.revokeObjectURL(url);
  }
}

/** How long (ms) a worker spins for the next call, and the caller for the workers, before sleeping;
 * and how long the caller waits for a worker's part before giving up on it (a dead worker). */
export const poolTuning = { spinMs: 1, stallMs: 120_000 };

/** Whether this thread may block in Atomics.wait (not a browser's main thread). Found at first use. */
let canWait: boolean | undefined;

/** Waits for `expected` workers to be done; false when none progressed for poolTuning.stallMs. */
function waitDone(ctrl: Int32Array, expected: number): boolean {
  // The workers' parts end about when the caller's does: spin, then sleep if they take longer.
  const t0 = performance.now();
  while (Atomics.load(ctrl, DONE) !== expected) if (performance.now() - t0 > poolTuning.spinMs) break;
  let [seen, since] = [-1, performance.now()];
  for (;;) {
    const done = Atomics.load(ctrl, DONE);
    if (done === expected) return true;
    if (done !== seen) [seen, since] = [done, performance.now()];
    else if (performance.now() - since > poolTuning.stallMs) return false;
    if (canWait === undefined) {
      try {
        Atomics.wait(ctrl, DONE, done, 0);
        canWait = true;
      } catch {
        canWait = false;
      }
    } else if (canWait) Atomics.wait(ctrl, DONE, done, 50);
  }
}

/**
 * A pool of `threads − 1` workers sharing `memory` (which must be shared), running `modules`' exports;
 * undefined where workers cannot be made (no spawn hook and no browser Worker) or memory is not shared.
 */
export function createKernelPool(memory: WebAssembly.Memory, threads: number, modules: readonly PoolModule[], spawn?: SpawnKernelWorker): KernelPool | undefined {
  if (threads < 2 || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
  const n = Math.min(threads - 1, MAX_WORKERS);
  const make = spawn ?? browserWorker;
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + n * SLOT)));
  const names = new Map<string, number>();
  const local: Array<(...a: number[]) => void> = [];
  const list = modules.map((m) => {
    const ex = new WebAssembly.Instance(m.module, { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
    for (const e of m.exports) {
      names.set(`${m.name}.${e}`, local.length);
      local.push(ex[e]!);
    }
    return { module: m.module, exports: [...m.exports] };
  });
  const workers: KernelWorker[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const w = make(WORKER_SOURCE);
      if (!w) break;
      workers.push(w);
      w.postMessage({ ctrl: ctrl.buffer, memory, modules: list, index: i, spinMs: poolTuning.spinMs });
    }
  } catch {
    // then fewer (or no) workers: the pool runs what it has
  }
  if (workers.length === 0) return undefined;
  let ready = false;
  let closed = false;
  let dispatched = 0;
  const allReady = () => (ready ||= workers.every((_, i) => Atomics.load(ctrl, READY + i) === 1));
  const close = () => {
    if (closed) return;
    closed = true;
    Atomics.store(ctrl, STOP, 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (const w of workers) w.terminate();
  };
  return {
    threads: workers.length + 1,
    started: () => !closed && allReady(),
    get dispatched() {
      return dispatched;
    },
    fn(name) {
      const i = names.get(name);
      if (i === undefined) throw new Error(`kernel pool: no function ${name} (${[...names.keys()].join(', ')})`);
      return i;
    },
    run(programs) {
      if (programs.length > workers.length + 1) throw new Error(`kernel pool: ${programs.length} programs for ${workers.length + 1} threads`);
      const exec = (p: PoolProgram) => {
        for (const c of p) local[c.fn]!(...c.args);
      };
      if (closed || programs.length < 2 || !allReady()) {
        for (const p of programs) exec(p);
        return;
      }
      for (let w = 0; w < workers.length; w++) {
        const base = SLOTS + w * SLOT;
        const p = programs[w + 1] ?? [];
        if (p.length > MAX_POOL_CALLS) throw new Error(`kernel pool: a program of ${p.length} calls (at most ${MAX_POOL_CALLS})`);
        ctrl[base] = p.length;
        p.forEach((c, i) => {
          const q = base + 1 + i * CALL;
          ctrl[q] = c.fn;
          for (let j = 0; j < c.args.length; j++) ctrl[q + 1 + j] = c.args[j]!;
        });
      }
      dispatched++;
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
      let finished = false;
      try {
        exec(programs[0]!);
      } finally {
        finished = waitDone(ctrl, workers.length);
      }
      if (!finished) {
        // A worker that stopped answering (killed, out of memory) would hang every later kernel.
        close();
        throw new Error(`kernel pool: a worker did not finish its part of a kernel within ${poolTuning.stallMs / 1000} s, so the pool is closed and later kernels run on one thread; if this repeats, run without wasm threads (--wasm-threads 1)`);
      }
      if (Atomics.exchange(ctrl, ERROR, 0)) throw new Error('kernel pool: a worker trapped in its part of a kernel');
    },
    close,
  };
}

// The pool of each wasm heap (one backend per process in practice), found by the kernels at call time.
const pools = new WeakMap<WebAssembly.Memory, KernelPool>();

/** Makes `pool` the one kernels use on `memory` (undefined: none; closing a pool is its owner's call). */
export function setKernelPool(memory: WebAssembly.Memory, pool: KernelPool | undefined): void {
  if (pool) pools.set(memory, pool);
  else pools.delete(memory);
}

export function kernelPoolFor(memory: WebAssembly.Memory): KernelPool | undefined {
  return pools.get(memory);
}

/**
 * `total` rows (or other independent units) in at most `parts` contiguous runs, each a multiple of
 * `align` except the last: [start, count] pairs. Fewer parts where a part would fall under `min`.
 */
export function splitRows(total: number, parts: number, align: number, min: number): Array<[number, number]> {
  const k = Math.max(1, Math.min(parts, Math.floor(total / Math.max(min, align))));
  const per = Math.ceil(total / k / align) * align;
  const out: Array<[number, number]> = [];
  for (let s = 0; s < total; s += per) out.push([s, Math.min(per, total - s)]);
  return out;
}

/**
 * Runs independent sequences of module calls (`plans`): on `memory`'s pool, up to one plan per
 * thread at a time (a plan longer than MAX_POOL_CALLS goes in several dispatches, in order), else one
 * after another through `local` (this thread's functions by call name). Plans must not touch each
 * other's outputs, so the result does not depend on the thread count.
 */
export function runPlans(memory: WebAssembly.Memory, plans: readonly (readonly ModuleCall[])[], local: CallTable): void {
  const pool = plans.length > 1 ? kernelPoolFor(memory) : undefined;
  if (!pool || pool.threads < 2) {
    for (const p of plans) for (const [name, args] of p) local[name]!(...args);
    return;
  }
  for (let t0 = 0; t0 < plans.length; t0 += pool.threads) {
    const group = plans.slice(t0, t0 + pool.threads);
    const parts = Math.max(...group.map((p) => Math.ceil(p.length / MAX_POOL_CALLS)));
    for (let s = 0; s < parts; s++) {
      pool.run(group.map((p) => p.slice(s * MAX_POOL_CALLS, (s + 1) * MAX_POOL_CALLS).map(([name, args]) => ({ fn: pool.fn(name), args }))));
    }
  }
}

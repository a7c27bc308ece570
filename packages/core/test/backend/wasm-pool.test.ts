// Core's kernel pool (wasm-pool.ts) over a shared memory, with Node worker_threads as the platform's
// spawn hook (what the CLI passes): the product split by rows, and plans of module calls, give the
// same bits as on one thread; workers' traps surface; a pool that cannot run falls back.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { createKernelPool, kernelPoolFor, MAX_POOL_CALLS, poolTuning, runPlans, setKernelPool, splitRows, type KernelPool, type ModuleCall } from '../../src/backend/wasm-pool.js';
import { gemmModule, gemmPoolTuning, gemmTuning, simdGemm } from '../../src/backend/wasm-simd-gemm.js';
import { im2colModule } from '../../src/backend/wasm-simd-im2col.js';

const spawn = (src: string) => {
  const w = new Worker(src, { eval: true });
  w.unref();
  return w;
};
const modules = () => [gemmModule.poolModule()!, im2colModule.poolModule()!];
const sharedMemory = (pages = 64) => new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });

async function started(pool: KernelPool): Promise<KernelPool> {
  for (let i = 0; i < 500 && !pool.started(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pool.started()).toBe(true);
  return pool;
}

const pools: KernelPool[] = [];
afterAll(() => pools.forEach((p) => p.close()));

describe('splitRows', () => {
  it('cuts into aligned contiguous runs covering every row once, fewer where parts would be small', () => {
    for (const [total, parts, align, min] of [[256, 2, 4, 16], [70, 3, 4, 16], [17, 2, 4, 16], [33, 2, 4, 16], [5, 4, 1, 1], [1000, 7, 4, 1]] as const) {
      const runs = splitRows(total, parts, align, min);
      expect(runs.length).toBeLessThanOrEqual(parts);
      let next = 0;
      runs.forEach(([s, n], i) => {
        expect(s).toBe(next);
        expect(n).toBeGreaterThan(0);
        if (i < runs.length - 1) expect(n % align).toBe(0);
        next += n;
      });
      expect(next).toBe(total);
    }
    expect(splitRows(17, 2, 4, 16)).toEqual([[0, 17]]);
    expect(splitRows(256, 2, 4, 16)).toEqual([[0, 128], [128, 128]]);
  });
});

describe('kernel pool over a shared memory', () => {
  it('is not made for a plain memory or one thread', () => {
    expect(createKernelPool(new WebAssembly.Memory({ initial: 1 }), 2, modules(), spawn)).toBeUndefined();
    expect(createKernelPool(sharedMemory(1), 1, modules(), spawn)).toBeUndefined();
    expect(createKernelPool(sharedMemory(1), 2, modules(), () => { throw new Error('no workers here'); })).toBeUndefined();
  });

  for (const threads of [2, 3]) {
    it(`splits the SIMD product by rows over ${threads} threads with the same bits as one thread (every form, odd sizes)`, async () => {
      const memory = sharedMemory(256);
      const gemm = simdGemm(memory)!;
      const pool = await started(createKernelPool(memory, threads, modules(), spawn)!);
      pools.push(pool);
      const f32 = new Float32Array(memory.buffer);
      const rng = new Rng(7);
      const was = { ...gemmPoolTuning };
      Object.assign(gemmPoolTuning, { minMacs: 0, minRows: 4 });
      try {
        for (const form of ['outer', 'stream'] as const) {
          gemmTuning.form = form;
          for (const [m, k, n] of [[1, 5, 7], [9, 3, 17], [37, 11, 9], [64, 33, 24], [70, 8, 5], [130, 17, 13]] as const) {
            for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
              const [a, b] = [0, 4 * m * k];
              const [c1, c2] = [b + 4 * k * n, b + 4 * k * n + 4 * m * n];
              f32.set(rng.uniformArray(m * k + k * n, -1, 1), 0);
              setKernelPool(memory, undefined);
              gemm(a, b, c1, m, n, k, ta, tb);
              setKernelPool(memory, pool);
              const before = pool.dispatched;
              gemm(a, b, c2, m, n, k, ta, tb);
              if (m >= 8) expect(pool.dispatched, `[${m},${k}]·[${k},${n}] ${ta} ${tb}: went to the workers`).toBe(before + 1);
              const one = new Uint32Array(memory.buffer, c1, m * n);
              const many = new Uint32Array(memory.buffer, c2, m * n);
              expect(Array.from(many), `${form} [${m},${k}]·[${k},${n}] ta ${ta} tb ${tb}`).toEqual(Array.from(one));
            }
          }
        }
      } finally {
        gemmTuning.form = 'auto';
        Object.assign(gemmPoolTuning, was);
        setKernelPool(memory, undefined);
      }
    });
  }

  it('runs plans longer than one dispatch holds, each in order; the same bits as one after another', async () => {
    const memory = sharedMemory(1);
    const pool = await started(createKernelPool(memory, 2, modules(), spawn)!);
    pools.push(pool);
    const local = im2colModule.calls(memory)!;
    // Per plan, a pair (x, y) stepped as x += y, y += x: the result depends on the order of the calls.
    const calls = MAX_POOL_CALLS + 57;
    const plan = (at: number): ModuleCall[] => Array.from({ length: calls }, (_, i) => ['im2col.add', i % 2 ? [at + 4, at, 1] : [at, at + 4, 1]]);
    const f32 = new Float32Array(memory.buffer);
    const run = (withPool: boolean) => {
      f32.fill(1e-37, 0, 8);
      setKernelPool(memory, withPool ? pool : undefined);
      const before = pool.dispatched;
      runPlans(memory, [plan(0), plan(8), plan(16)], local);
      setKernelPool(memory, undefined);
      return { values: Array.from(f32.subarray(0, 6)), dispatched: pool.dispatched - before };
    };
    const one = run(false);
    const many = run(true);
    expect(many.values).toEqual(one.values);
    expect(Number.isFinite(one.values[0]!) && one.values[0]! > 1).toBe(true);
    // 3 plans on 2 threads: plans 0 and 1 together, in 2 dispatches; then plan 2 alone, on this thread.
    expect(many.dispatched).toBe(2);
  });

  it('reports a worker that traps, and still runs after; close() falls back to this thread', async () => {
    const memory = sharedMemory(1);
    const pool = await started(createKernelPool(memory, 2, modules(), spawn)!);
    const add = pool.fn('im2col.add');
    const f32 = new Float32Array(memory.buffer);
    f32.fill(1, 0, 4);
    const outside = memory.buffer.byteLength + 64;
    expect(() => pool.run([[{ fn: add, args: [0, 0, 1] }], [{ fn: add, args: [outside, outside, 4] }]])).toThrow(/a worker trapped/);
    pool.run([[{ fn: add, args: [0, 0, 1] }], [{ fn: add, args: [4, 4, 1] }]]);
    expect(Array.from(f32.subarray(0, 2))).toEqual([4, 2]); // the trapped part left its float alone
    expect(() => pool.fn('gemm.nope')).toThrow(/no function gemm\.nope/);
    pool.close();
    expect(pool.started()).toBe(false);
    const before = pool.dispatched;
    pool.run([[{ fn: add, args: [0, 0, 1] }], [{ fn: add, args: [4, 4, 1] }]]);
    expect(pool.dispatched).toBe(before);
    expect(Array.from(f32.subarray(0, 2))).toEqual([8, 4]);
    expect(kernelPoolFor(memory)).toBeUndefined();
  });

  it('gives up on a worker that stopped answering: a clear error, the pool closed, later calls run here', async () => {
    const memory = sharedMemory(1);
    const made: Worker[] = [];
    const pool = await started(createKernelPool(memory, 2, modules(), (src) => {
      const w = spawn(src);
      made.push(w);
      return w;
    })!);
    await made[0]!.terminate();
    const add = pool.fn('im2col.add');
    const was = poolTuning.stallMs;
    poolTuning.stallMs = 200;
    try {
      expect(() => pool.run([[{ fn: add, args: [0, 0, 1] }], [{ fn: add, args: [4, 4, 1] }]])).toThrow(/did not finish its part of a kernel within 0\.2 s, so the pool is closed.*--wasm-threads 1/);
    } finally {
      poolTuning.stallMs = was;
    }
    expect(pool.started()).toBe(false);
    const f32 = new Float32Array(memory.buffer);
    f32.fill(1, 0, 2);
    pool.run([[{ fn: add, args: [0, 0, 1] }], [{ fn: add, args: [4, 4, 1] }]]);
    expect(Array.from(f32.subarray(0, 2))).toEqual([2, 2]);
  });
});

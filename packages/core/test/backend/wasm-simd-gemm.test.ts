// Core's SIMD matrix product for the wasm backend (src/backend/wasm-simd-gemm.ts), run directly on a
// WebAssembly.Memory: every value bit-exact against a float32 emulation of its summation order (and
// within float32 noise of float64), for every transpose form, every size 0..17 in m and n and short
// and long k (tiles, their row and column tails, K = 0), both forms of the not-transposed-B product
// bit-identical, nothing written outside C, and on a shared memory (the threaded build's heap).
// tf.matMul on wasm through it: wasm-kernels.test.ts.
import { describe, it, expect, afterEach } from 'vitest';
import { Rng } from '../../src/rng.js';
import { GEMM_MODULE_BYTES, gemmTuning, simdGemm } from '../../src/backend/wasm-simd-gemm.js';

const f32 = Math.fround;

/** C as the kernel computes it, in float32: k in order for B not transposed; for Bᵀ, four lane sums
 * (k ≡ lane mod 4; the k mod 4 last terms all in lane 0), combined as (l0 + l1) + (l2 + l3). Also
 * the float64 value. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean) {
  const exact = new Float32Array(m * n);
  const f64 = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const lanes = [0, 0, 0, 0];
      let seq = 0;
      let d = 0;
      for (let p = 0; p < k; p++) {
        const x = a[ta ? p * m + i : i * k + p]!;
        const y = b[tb ? j * k + p : p * n + j]!;
        const prodf = f32(x * y);
        seq = f32(seq + prodf);
        const lane = p < k - (k % 4) ? p & 3 : 0;
        lanes[lane] = f32(lanes[lane]! + prodf);
        d += x * y;
      }
      exact[i * n + j] = tb ? f32(f32(lanes[0]! + lanes[1]!) + f32(lanes[2]! + lanes[3]!)) : seq;
      f64[i * n + j] = d;
    }
  }
  return { exact, f64 };
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Runs the kernel on `memory` with A, B and C at odd float offsets; C is surrounded by NaN guards. */
function run(memory: WebAssembly.Memory, a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean) {
  const heap = new Float32Array(memory.buffer);
  const [aAt, bAt] = [3, 3 + a.length + 5];
  const cAt = bAt + b.length + 7;
  heap.set(a, aAt);
  heap.set(b, bAt);
  heap.fill(NaN, cAt - 4, cAt + m * n + 4);
  simdGemm(memory)!(4 * aAt, 4 * bAt, 4 * cAt, m, n, k, ta, tb);
  const guards = [...heap.subarray(cAt - 4, cAt), ...heap.subarray(cAt + m * n, cAt + m * n + 4)];
  return { c: heap.slice(cAt, cAt + m * n), guardsIntact: guards.every(Number.isNaN) };
}

afterEach(() => {
  gemmTuning.form = 'auto';
});

describe('SIMD matrix product (wasm-simd-gemm)', () => {
  it('fits a synchronous browser compile (modules under 4 KB)', () => {
    expect(GEMM_MODULE_BYTES).toBeLessThan(4096);
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
    it(`${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}: bit-exact against its float32 summation order, m, n = 0..17, k = 0..9, 16, 17, 33`, () => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const rng = new Rng(7);
      const forms = tb ? (['auto'] as const) : (['outer', 'stream'] as const);
      let worst64 = 0;
      const wrong: string[] = [];
      for (let m = 0; m <= 17; m++) {
        for (let n = 0; n <= 17; n++) {
          for (const k of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 33]) {
            if ((m * 18 + n) % 3 !== k % 3 && k > 9) continue; // long k on a third of the sizes
            const a = rng.uniformArray(m * k, -1, 1);
            const b = rng.uniformArray(k * n, -1, 1);
            const want = reference(a, b, m, n, k, ta, tb);
            for (const form of forms) {
              gemmTuning.form = form;
              const got = run(memory, a, b, m, n, k, ta, tb);
              const [gb, wb] = [bits(got.c), bits(want.exact)];
              if (!got.guardsIntact || gb.some((x, i) => x !== wb[i])) wrong.push(`m ${m}, n ${n}, k ${k}, ${form}`);
              got.c.forEach((v, i) => (worst64 = Math.max(worst64, Math.abs(v - want.f64[i]!))));
            }
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(worst64).toBeLessThan(2e-6); // sums of ≤ 33 products of values in [−1, 1]
    });
  }

  it('refuses Aᵀ·Bᵀ (callers transpose one operand) and does nothing for an empty C', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(() => simdGemm(memory)!(0, 0, 0, 2, 2, 2, true, true)).toThrow(/transpose one operand/);
    expect(() => simdGemm(memory)!(0, 0, 0, 0, 5, 3, true, true)).not.toThrow();
  });

  it('gives the same bits on a shared memory (the threaded build) as on a plain one', () => {
    const rng = new Rng(9);
    const [m, n, k] = [13, 11, 21];
    const a = rng.uniformArray(m * k, -1, 1);
    const b = rng.uniformArray(k * n, -1, 1);
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
      const plain = run(new WebAssembly.Memory({ initial: 1 }), a, b, m, n, k, ta, tb).c;
      expect(bits(run(shared, a, b, m, n, k, ta, tb).c)).toEqual(bits(plain));
      expect(bits(plain)).toEqual(bits(reference(a, b, m, n, k, ta, tb).exact));
    }
  });
});

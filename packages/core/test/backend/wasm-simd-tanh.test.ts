// Core's SIMD Tanh kernel for the wasm backend (src/backend/wasm-simd-tanh.ts): accuracy against
// float64 over a dense float32 grid, at least that of the XNNPACK composition it replaces, tails,
// unaligned addresses, shared memory (the threaded build's heap), and that tf.tanh on wasm runs it.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';
import { wasmKernelTuning } from '../../src/backend/wasm-kernels.js';
import { simdTanh, simdTanhFor } from '../../src/backend/wasm-simd-tanh.js';
import { wasmHeap } from '../../src/backend/wasm-asm.js';

/** Every 8191st float32 bit pattern from +0 (denormals included) up to +Inf, each with both signs
 * (so ±0 too), then ±Inf and NaN: about half a million values. */
function grid(): Float32Array {
  const bits: number[] = [];
  for (let b = 0; b < 0x7f800000; b += 8191) bits.push(b, b | 0x80000000);
  bits.push(0x7f800000, 0xff800000, 0x7fc00000);
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** Worst error against float64 tanh: relative for |x| < 0.5, absolute elsewhere; and the inputs
 * among ±0, ±Inf, NaN whose result is not exactly tanh's (signed zeros, ±1, NaN). */
function errors(x: Float32Array, y: Float32Array): { rel: number; abs: number; special: string[] } {
  let rel = 0;
  let abs = 0;
  const special: string[] = [];
  x.forEach((v, i) => {
    const want = Math.tanh(v);
    const got = y[i]!;
    if (Number.isNaN(want) || !Number.isFinite(v) || v === 0) {
      if (!Object.is(got, want)) special.push(`tanh(${Object.is(v, -0) ? '-0' : v}) = ${got}`);
    } else if (Math.abs(v) < 0.5) rel = Math.max(rel, Math.abs(got - want) / Math.abs(want));
    else abs = Math.max(abs, Math.abs(got - want));
  });
  return { rel, abs, special };
}

/** tf.tanh on the active backend (not returned through tf.tidy, which would walk every element). */
function tanhOnWasm(x: Float32Array): Float32Array {
  const t = tf.tensor1d(x);
  const y = tf.tanh(t);
  const values = y.dataSync() as Float32Array;
  tf.dispose([t, y]);
  return values;
}

/** The kernel run directly on a fresh Memory, x at byte offset xAt, y at yAt. */
function direct(x: Float32Array, xAt: number, yAt: number, shared = false): Float32Array {
  const pages = Math.ceil((Math.max(xAt, yAt) + 4 * x.length) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared } as WebAssembly.MemoryDescriptor);
  new Float32Array(memory.buffer, xAt, x.length).set(x);
  simdTanh(memory)!(xAt, yAt, x.length);
  return new Float32Array(memory.buffer, yAt, x.length).slice();
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

beforeAll(async () => {
  await selectBackend({ backend: 'wasm', quiet: true });
});
afterEach(() => {
  wasmKernelTuning.simdTanh = true;
});

describe('SIMD Tanh on wasm', () => {
  it('is what tf.tanh runs on wasm in Node (not the composition), bit for bit, without leaks', () => {
    expect(simdTanhFor(tf.backend())).toBeDefined();
    const x = grid().subarray(0, 4099);
    const tensors = tf.memory().numTensors;
    const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const y = tanhOnWasm(x);
    expect(bitsOf(y)).toEqual(bitsOf(direct(x, 0, 4 * x.length)));
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(ids);
  });

  it('is within 1.2e-7 of float64 tanh over a dense float32 grid, and at least as accurate as the composition', () => {
    const x = grid();
    const simd = errors(x, tanhOnWasm(x));
    wasmKernelTuning.simdTanh = false;
    const composed = errors(x, tanhOnWasm(x));
    // Measured on this grid: simd 5.9e-8 relative / 9.4e-8 absolute; composition 6.6e-7 / 1.22e-7.
    expect(simd.special).toEqual([]);
    expect(composed.special).toEqual(['tanh(-0) = 0']); // the composition's one special-value miss
    expect(simd.rel).toBeLessThanOrEqual(1.2e-7);
    expect(simd.abs).toBeLessThanOrEqual(1.2e-7);
    expect(simd.rel).toBeLessThanOrEqual(composed.rel);
    expect(simd.abs).toBeLessThanOrEqual(composed.abs);
  });

  it('gives the same bits in the single-float tail (n = 1, 3, 5, 1025) as in groups of 4', () => {
    const x = Float32Array.from({ length: 1028 }, (_, i) => (i - 514) / 37);
    const all = bitsOf(tanhOnWasm(x));
    for (const n of [1, 3, 5, 1025]) {
      const at = 514 - (n >> 1); // around 0, where both forms are used
      expect(bitsOf(tanhOnWasm(x.slice(at, at + n))), `n = ${n}`).toEqual(all.slice(at, at + n));
    }
  });

  it('reads and writes at any 4-byte-aligned address, and on a shared memory (the threaded build)', () => {
    const x = Float32Array.from({ length: 37 }, (_, i) => (i - 18) / 3);
    const ref = bitsOf(direct(x, 0, 256));
    for (const [xAt, yAt] of [[4, 1028], [12, 516], [20, 20]]) {
      expect(bitsOf(direct(x, xAt!, yAt!)), `x at ${xAt}, y at ${yAt}`).toEqual(ref);
    }
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(bitsOf(direct(x, 4, 512, true))).toEqual(ref);
  });

  it('finds the heap of the single-threaded build (its exported memory) and of the threaded one (Module.wasmMemory)', () => {
    const heap = wasmHeap(tf.backend() as never)!;
    expect((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer).toBe(heap.buffer);
    const threaded = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true } as WebAssembly.MemoryDescriptor);
    expect(wasmHeap({ wasm: { wasmMemory: threaded } })).toBe(threaded);
    expect(wasmHeap({ wasm: {} })).toBeUndefined();
    expect(simdTanhFor({})).toBeUndefined(); // not a wasm backend: tanh keeps the composition
  });
});

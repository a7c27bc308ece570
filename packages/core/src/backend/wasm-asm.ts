// A minimal WebAssembly assembler for core's native wasm kernels (wasm-simd-tanh.ts,
// wasm-simd-gemm.ts): byte encodings, the instructions they use, a module whose functions import the
// wasm backend's heap as `env.memory`, and compile-once / instantiate-per-memory caching.
//
// Works wherever WebAssembly SIMD does (Node ≥ 16.4, current browsers); `new WebAssembly.Module`
// is synchronous, which browsers allow on the main thread for modules under 4 KB only, so each
// kernel module must stay below that. The threaded tfjs build's heap is a shared Memory, which an
// import must declare as shared.

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
/** Signed LEB128. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

// ---- Instructions (each a byte array; expressions are their operands' bytes, then the op) ----
export type E = number[];
import type { PoolModule } from './wasm-pool.js';

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
/** memarg: alignment 2^2 bytes (a hint: unaligned access is allowed), then a constant byte offset */
export const mem = (offset = 0): E => [2, ...uleb(offset)];
export const local = { get: (i: number): E => [0x20, i], set: (i: number): E => [0x21, i], tee: (i: number): E => [0x22, i] };
/** i32.const */
export const i32 = (v: number): E => [0x41, ...sleb(v)];
export const simd = (op: number): E => [0xfd, ...uleb(op)];
const op = (code: number) => (...args: E[]): E => [...args.flat(), ...simd(code)];
const op1 = (code: number) => (...args: E[]): E => [...args.flat(), code];
export const i32ops = {
  add: op1(0x6a), sub: op1(0x6b), mul: op1(0x6c), and: op1(0x71), shrU: op1(0x76),
  eqz: op1(0x45), ltU: op1(0x49), gtU: op1(0x4b), geU: op1(0x4f), ltS: op1(0x48), gtS: op1(0x4a),
  /** a < b ? a : b (unsigned) */
  minU: (a: E, b: E): E => [...a, ...b, ...a, ...b, 0x49, 0x1b],
  /** a < b ? a : b (signed) */
  minS: (a: E, b: E): E => [...a, ...b, ...a, ...b, 0x48, 0x1b],
  /** a > b ? a : b (signed) */
  maxS: (a: E, b: E): E => [...a, ...b, ...a, ...b, 0x4a, 0x1b],
};
/** Bulk memory (wasm 2.0, Node ≥ 12): memory.copy(dst, src, bytes) (overlap-safe) and memory.fill(dst, byte, bytes). */
/** local l += by (i32). */
export const inc = (l: number, by: E): E => [...i32ops.add(local.get(l), by), ...local.set(l)];
/** 0, 1, …, n − 1 (local indices, unrolled lanes and rows). */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export const memops = {
  copy: (dst: E, src: E, bytes: E): E => [...dst, ...src, ...bytes, 0xfc, 10, 0, 0],
  fill: (dst: E, byte: E, bytes: E): E => [...dst, ...byte, ...bytes, 0xfc, 11, 0],
};
export const f32ops = {
  add: op1(0x92), mul: op1(0x94),
  load: (addr: E, offset = 0): E => [...addr, 0x2a, ...mem(offset)],
  store: (addr: E, value: E, offset = 0): E => [...addr, ...value, 0x38, ...mem(offset)],
};
/** v128.const of sixteen bytes 1 */
const i8x16splat1: E = [...simd(0x0c), ...new Array<number>(16).fill(1)];
export const f32x4 = {
  abs: op(0xe0), add: op(0xe4), sub: op(0xe5), mul: op(0xe6), div: op(0xe7),
  /** b < a ? b : a (one x64 minps; f32x4.min's NaN and ±0 rules cost V8 several instructions) */
  pmin: op(0xea),
  /** the larger of a and b, NaN where either is NaN (as the cpu backend's Max) */
  max: op(0xe9),
  /** lanes all ones where a == b (never for NaN), else zeros */
  eq: op(0x41),
  /** lane i of a four-float mask (all ones or zeros) as byte i of the result, 1 or 0 (narrowed
   * twice); m is read four times: pass a local's value */
  maskBytes: (m: E): E => [...m, ...m, ...simd(0x85), ...m, ...m, ...simd(0x85), ...simd(0x65), ...i8x16splat1, ...simd(0x4e)],
  gt: op(0x44),
  /** a·b + c, rounded twice (wasm SIMD has no fused multiply-add) */
  mad: (a: E, b: E, c: E): E => f32x4.add(f32x4.mul(a, b), c),
  /** v128.const of four copies of float32 v */
  splat: (v: number): E => [...simd(0x0c), ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)],
  extractLane: (a: E, lane: number): E => [...a, ...simd(0x1f), lane],
  /** lanes of a (0–3) and b (4–7) picked by `lanes` (i8x16.shuffle) */
  shuffle: (a: E, b: E, lanes: number[]): E => [...a, ...b, ...simd(0x0d), ...lanes.flatMap((l) => [0, 1, 2, 3].map((i) => 4 * l + i))],
};
export const i32x4 = {
  shl: (a: E, bits: number): E => [...a, ...i32(bits), ...simd(0xab)],
  splat: (v: number): E => [...simd(0x0c), ...new Uint8Array(new Int32Array([v, v, v, v]).buffer)],
};
export const v128 = {
  and: op(0x4e), or: op(0x50), /** bits of a where mask is 1, else of b */ bitselect: op(0x52),
  load: (addr: E, offset = 0): E => [...addr, ...simd(0x00), ...mem(offset)],
  store: (addr: E, value: E, offset = 0): E => [...addr, ...value, ...simd(0x0b), ...mem(offset)],
  /** one float32 into lane 0, zeros elsewhere */
  load32Zero: (addr: E, offset = 0): E => [...addr, ...simd(0x5c), ...mem(offset)],
  /** one float32 into all four lanes */
  load32Splat: (addr: E, offset = 0): E => [...addr, ...simd(0x09), ...mem(offset)],
  /** one float32 into `lane` of vector v */
  load32Lane: (addr: E, v: E, lane: number): E => [...addr, ...v, ...simd(0x56), ...mem(), lane],
  store32Lane: (addr: E, v: E, lane: number): E => [...addr, ...v, ...simd(0x5a), ...mem(), lane],
  /** byte `lane` of v to addr */
  store8Lane: (addr: E, v: E, lane: number): E => [...addr, ...v, ...simd(0x58), 0, 0, lane],
};
/** `while (!(done)) { body }` (done is an i32 expression, tested before each pass). */
export const whileNot = (done: E, body: E): E => [0x02, 0x40, 0x03, 0x40, ...done, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
/** `if (cond) { body }` */
export const when = (cond: E, body: E): E => [...cond, 0x04, 0x40, ...body, 0x0b];

/** A function of a kernel module: i32 parameters, locals as [count, type] runs, no results. */
export interface WasmFunction { name: string; params: number; locals: Array<[number, number]>; body: E }

/** The bytes of a module of `fns` over an imported memory (`shared`: the threaded build's heap). */
export function moduleBytes(fns: WasmFunction[], shared: boolean): Uint8Array<ArrayBuffer> {
  // Memory limits: at least 0 pages; a shared memory must state a maximum (wasm32's 65536 pages).
  const limits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const code = fns.map((f) => [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, 0x0b]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec(fns.map((f) => [0x60, ...vec(new Array<number[]>(f.params).fill([I32])), ...vec([])]))), // type i: (i32 …) -> ()
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])), // import env.memory
    ...section(3, vec(fns.map((_, i) => uleb(i)))), // function i has type i
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))), // exports by name
    ...section(10, vec(code.map((c) => [...uleb(c.length), ...c]))),
  ]);
}

export type Exports = Record<string, (...args: number[]) => void>;

/**
 * A kernel module built by `build` (for a plain or a shared memory), compiled once per kind and
 * instantiated once per memory; the returned function gives its exports for a memory, or undefined
 * where the engine cannot run it (no SIMD, no shared memory, a browser refusing a synchronous compile).
 */
export type HeapModule = ((memory: WebAssembly.Memory) => Exports | undefined) & {
  /** The compiled module for a plain or a shared memory (null where the engine cannot run it), e.g. for a kernel pool's workers. */
  compiled(shared: boolean): WebAssembly.Module | null;
};

export function heapModule(build: (shared: boolean) => Uint8Array<ArrayBuffer>): HeapModule {
  const compiled = new Map<boolean, WebAssembly.Module | null>();
  const instances = new WeakMap<WebAssembly.Memory, Exports | null>();
  const compile = (shared: boolean): WebAssembly.Module | null => {
    if (!compiled.has(shared)) {
      let mod: WebAssembly.Module | null = null;
      try {
        const bytes = build(shared);
        if (typeof WebAssembly === 'object' && WebAssembly.validate(bytes)) mod = new WebAssembly.Module(bytes);
      } catch {
        // then callers use their fallback
      }
      compiled.set(shared, mod);
    }
    return compiled.get(shared)!;
  };
  const bind = (memory: WebAssembly.Memory): Exports | undefined => {
    if (!instances.has(memory)) {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const mod = compile(shared);
      instances.set(memory, mod ? (new WebAssembly.Instance(mod, { env: { memory } }).exports as Exports) : null);
    }
    return instances.get(memory) ?? undefined;
  };
  return Object.assign(bind, { compiled: compile });
}

/** A kernel module's functions by call name, `<module>.<function>`: how kernels describe work that may
 * run on this thread or on a kernel pool's worker (wasm-pool.ts). */
export type CallTable = Record<string, (...args: number[]) => void>;

export interface NamedModule {
  readonly name: string;
  /** Its functions over `memory` by call name (made once per memory), or undefined where the engine cannot run it. */
  calls(memory: WebAssembly.Memory): CallTable | undefined;
  /** What a kernel pool's workers instantiate over a shared memory, or undefined where the engine cannot run it. */
  poolModule(): PoolModule | undefined;
}

/** The module of `fns`, called by name as `<name>.<function>`. */
export function namedModule(name: string, fns: readonly WasmFunction[]): NamedModule {
  const bind = heapModule((shared) => moduleBytes([...fns], shared));
  const tables = new WeakMap<WebAssembly.Memory, CallTable | null>();
  return {
    name,
    calls(memory) {
      if (!tables.has(memory)) {
        const ex = bind(memory);
        tables.set(memory, ex ? Object.fromEntries(fns.map((f) => [`${name}.${f.name}`, ex[f.name]!])) : null);
      }
      return tables.get(memory) ?? undefined;
    },
    poolModule() {
      const module = bind.compiled(true);
      return module ? { name, module, exports: fns.map((f) => f.name) } : undefined;
    },
  };
}

/** The emscripten Module of tfjs-backend-wasm (WasmBackend's `wasm` field), as far as used here. */
type EmscriptenModule = { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };

/** A kernel bound to a memory (simdTanh, simdGemm, …) as the same kernel for a wasm backend's heap:
 * undefined where the heap cannot be found or the engine cannot run it. */
export function forBackend<T>(bind: (memory: WebAssembly.Memory) => T | undefined): (backend: unknown) => T | undefined {
  return (backend) => {
    const heap = wasmHeap(backend);
    return heap && bind(heap);
  };
}

/** The wasm backend's heap: Module.wasmMemory in the threaded build, the module's exported memory otherwise. */
export function wasmHeap(backend: unknown): WebAssembly.Memory | undefined {
  const w = (backend as { wasm?: EmscriptenModule } | undefined)?.wasm;
  const m = w?.wasmMemory ?? w?.asm?.memory;
  return typeof WebAssembly === 'object' && m instanceof WebAssembly.Memory ? m : undefined;
}

// A native Tanh for the wasm backend: a tiny WebAssembly module, assembled here from bytes, that
// imports the backend's own memory and runs tanh over a tensor in place in the heap, 4 floats at
// a time with SIMD128. tfjs-backend-wasm 4.22's Tanh calls scalar libm tanh, and core's XNNPACK
// composition of it (wasm-kernels.ts) takes 14 kernel calls; this is one pass.
//
// The formula is Eigen's accurate ptanh_float (not its EIGEN_FAST_MATH rational, which is 5 ulp off
// near |x| = 7, 3e-7 absolute), on a = |x|, with x's sign put back at the end:
//   a ≤ 1.25:  a + a³·P(a²)/Q(a²)        (rminimax [3,4] rational; exact for tiny and denormal a)
//   a > 1.25:  1 − 2/(1 + exp(2·min(a, 10)))   (tanh(10) rounds to 1 in float32)
// with exp as in Eigen's pexp_float (Cephes: 2^m · e^r, |r| ≤ ln2/2, degree-6 polynomial). Both
// forms are computed for all 4 lanes and one is selected. Over every 7th positive float32 bit pattern
// it is within 1.1e-7 absolute, and 6.4e-8 relative below 0.5, of float64 tanh (≤ 1.9 ulp); odd
// exactly; ±Inf → ±1, NaN → NaN, −0 → −0. Cost: ~3 ns per value (0.16 ms of CPU for [256, 200] on
// the 2-core bench machine, loaded), where the composition took 14 ns.
//
// Works wherever WebAssembly SIMD does (Node ≥ 16.4, current browsers); `new WebAssembly.Module`
// is synchronous, which browsers allow on the main thread for modules under 4 KB (this is ~0.6 KB).
// The threaded tfjs build's heap is a shared Memory, which an import must declare as shared.

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

// ---- Instructions (each a byte array; expressions are their operands' bytes, then the op) ----
const I32 = 0x7f;
const V128 = 0x7b;
const ALIGN4 = [2, 0]; // memarg: alignment 2^2 bytes (a hint: unaligned access is allowed), offset 0
const local = { get: (i: number) => [0x20, i], set: (i: number) => [0x21, i] };
const i32 = (v: number) => [0x41, ...sleb(v)];
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
const simd = (op: number) => [0xfd, ...uleb(op)];
type E = number[];
const op = (code: number) => (...args: E[]): E => [...args.flat(), ...simd(code)];
const f32x4 = {
  abs: op(0xe0), add: op(0xe4), sub: op(0xe5), mul: op(0xe6), div: op(0xe7),
  /** b < a ? b : a (one x64 minps; f32x4.min's NaN and ±0 rules cost V8 several instructions) */
  pmin: op(0xea),
  gt: op(0x44),
  /** a·b + c, rounded twice (wasm SIMD has no fused multiply-add) */
  mad: (a: E, b: E, c: E): E => f32x4.add(f32x4.mul(a, b), c),
  /** v128.const of four copies of float32 v */
  splat: (v: number): E => [...simd(0x0c), ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)],
};
const i32x4 = {
  shl: (a: E, bits: number): E => [...a, ...i32(bits), ...simd(0xab)],
  splat: (v: number): E => [...simd(0x0c), ...new Uint8Array(new Int32Array([v, v, v, v]).buffer)],
};
const v128 = { and: op(0x4e), or: op(0x50), /** bits of a where mask is 1, else of b */ bitselect: op(0x52) };

// ---- The function: tanh(x: i32 byte address, y: i32 byte address, n: i32 element count) ----
const [X, Y, N, COUNT] = [0, 1, 2, 3]; // params, then the i32 loop counter
const [V, A, A2, NB, M, R, R2] = [4, 5, 6, 7, 8, 9, 10]; // v128 locals
const LOCALS = [[1, I32], [7, V128]];
const g = local.get;
const k = f32x4.splat;

// Eigen's coefficients (float32 values, as Eigen's float literals round to).
const SMALL_P = [-1.46725140511989593505859375e-2, -3.333333432674407958984375e-1];
const SMALL_Q = [1.570280082523822784423828125e-2, 4.4401752948760986328125e-1];
const MAGIC_BIAS = 12583039; // 0x1.8000FEp23
const EXP_P = [0.49999988079071044921875, 0.16666518151760101318359375, 4.166965186595916748046875e-2, 8.36894474923610687255859375e-3, 1.37449637986719608306884765625e-3];

/** tanh of local V, left on the stack (uses the v128 locals). */
const tanhOfV: E = [
  ...f32x4.abs(g(V)), ...local.set(A),
  ...f32x4.mul(g(A), g(A)), ...local.set(A2),
  // exp(z), z = 2·min(a, 10) (tanh(10) rounds to 1): z = m·ln2 + r. Adding the magic bias
  // 1.5·2^23 + 127 to z·log2 e rounds it to an integer m in the low mantissa bits, as 127 + m, so
  // that shifting those bits by 23 gives 2^m (XNNPACK's trick); r = z − m·ln2, ln2 in two parts
  // (Cephes' C1 + C2) so that m·C1 is exact.
  ...f32x4.mul(f32x4.pmin(g(A), k(10)), k(2)), ...local.set(R), // z, for now
  ...f32x4.mad(g(R), k(1.44269504088896341), k(MAGIC_BIAS)), ...local.set(NB),
  ...f32x4.sub(g(NB), k(MAGIC_BIAS)), ...local.set(M),
  ...f32x4.mad(g(M), k(2.1219444e-4), f32x4.mad(g(M), k(-0.693359375), g(R))), ...local.set(R),
  ...f32x4.mul(g(R), g(R)), ...local.set(R2),
  ...v128.or(
    v128.bitselect(
      // a > 1.25: 1 − 2/(1 + e^r·2^m), e^r = (r + 1) + r²·(r·(p3 + r²·p5) + (p2 + r²·(p4 + r²·p6))); 2^m from its exponent bits
      f32x4.sub(k(1), f32x4.div(k(2), f32x4.add(k(1), f32x4.mul(
        f32x4.mad(g(R2), f32x4.mad(g(R), f32x4.mad(g(R2), k(EXP_P[3]!), k(EXP_P[1]!)), f32x4.mad(g(R2), f32x4.mad(g(R2), k(EXP_P[4]!), k(EXP_P[2]!)), k(EXP_P[0]!))), f32x4.add(g(R), k(1))),
        i32x4.shl(g(NB), 23),
      )))),
      // a ≤ 1.25: a + a³·(p0·a² + p1) / ((q0·a² + q1)·a² + 1)
      f32x4.add(g(A), f32x4.mul(f32x4.mul(g(A2), g(A)), f32x4.div(
        f32x4.mad(g(A2), k(SMALL_P[0]!), k(SMALL_P[1]!)),
        f32x4.mad(f32x4.mad(g(A2), k(SMALL_Q[0]!), k(SMALL_Q[1]!)), g(A2), k(1)),
      ))),
      f32x4.gt(g(A), k(1.25)), // false for NaN: the small form, which is NaN too
    ),
    v128.and(g(V), i32x4.splat(-0x80000000)), // x's sign
  ),
];

/** `while (COUNT-- != 0) { y[..] = tanh(x[..]); x += step; y += step }` with the given load and store. */
const loopOver = (load: E, store: E, step: number): E => [
  0x02, 0x40, 0x03, 0x40, // block, loop (no results)
  ...g(COUNT), 0x45, 0x0d, 1, // br_if (COUNT == 0) out of the block
  ...g(Y), ...g(X), ...load, ...local.set(V), ...tanhOfV, ...store,
  ...g(X), ...i32(step), 0x6a, ...local.set(X),
  ...g(Y), ...i32(step), 0x6a, ...local.set(Y),
  ...g(COUNT), ...i32(1), 0x6b, ...local.set(COUNT),
  0x0c, 0, 0x0b, 0x0b, // br to the loop; end loop, end block
];

const BODY: E = [
  ...g(N), ...i32(2), 0x76, ...local.set(COUNT), // n >>> 2 groups of 4: v128.load / v128.store
  ...loopOver([...simd(0x00), ...ALIGN4], [...simd(0x0b), ...ALIGN4], 16),
  ...g(N), ...i32(3), 0x71, ...local.set(COUNT), // n & 3 single floats: v128.load32_zero / v128.store32_lane 0
  ...loopOver([...simd(0x5c), ...ALIGN4], [...simd(0x5a), ...ALIGN4, 0], 4),
  0x0b,
];

/** The module's bytes; `shared` declares the imported memory shared (the threaded build's heap). */
function moduleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  // Memory limits: at least 0 pages; a shared memory must state a maximum (wasm32's 65536 pages).
  const limits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const fn = [...vec(LOCALS), ...BODY];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([])]])), // type 0: (i32 i32 i32) -> ()
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])), // import env.memory
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...name('tanh'), 0x00, 0]])), // export "tanh" = function 0
    ...section(10, vec([[...uleb(fn.length), ...fn]])), // its code
  ]);
}

/** tanh over n float32s at byte address x into byte address y (both in the memory it was made for). */
export type TanhFn = (x: number, y: number, n: number) => void;

const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, TanhFn | null>();

function compile(shared: boolean): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    const bytes = moduleBytes(shared);
    // Fails where the engine has no SIMD (or no shared memory): then callers use the composition.
    compiled.set(shared, typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
  }
  return compiled.get(shared)!;
}

/** The SIMD tanh bound to `memory` (compiled once, instantiated once per memory), or undefined where the engine cannot run it. */
export function simdTanh(memory: WebAssembly.Memory): TanhFn | undefined {
  if (!instances.has(memory)) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const mod = compile(shared);
    instances.set(memory, mod ? (new WebAssembly.Instance(mod, { env: { memory } }).exports['tanh'] as TanhFn) : null);
  }
  return instances.get(memory) ?? undefined;
}

/** The emscripten Module of tfjs-backend-wasm (WasmBackend's `wasm` field), as far as used here. */
type EmscriptenModule = { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };

/** The wasm backend's heap: Module.wasmMemory in the threaded build, the module's exported memory otherwise. */
export function wasmHeap(backend: { wasm?: EmscriptenModule }): WebAssembly.Memory | undefined {
  const m = backend.wasm?.wasmMemory ?? backend.wasm?.asm?.memory;
  return typeof WebAssembly === 'object' && m instanceof WebAssembly.Memory ? m : undefined;
}

/** The SIMD tanh for a wasm backend's heap, or undefined (no SIMD, or a heap it cannot find). */
export function simdTanhFor(backend: unknown): TanhFn | undefined {
  const heap = wasmHeap(backend as { wasm?: EmscriptenModule });
  return heap && simdTanh(heap);
}

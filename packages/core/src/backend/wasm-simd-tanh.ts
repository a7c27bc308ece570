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
// Assembled with wasm-asm.ts (which says where it runs); the module is ~0.6 KB.
import { I32, V128, f32x4, heapModule, i32, i32ops, i32x4, local, mem, forBackend, moduleBytes, simd, v128, whileNot, type E } from './wasm-asm.js';

// ---- The function: tanh(x: i32 byte address, y: i32 byte address, n: i32 element count) ----
const [X, Y, N, COUNT] = [0, 1, 2, 3]; // params, then the i32 loop counter
const [V, A, A2, NB, M, R, R2] = [4, 5, 6, 7, 8, 9, 10]; // v128 locals
const LOCALS: Array<[number, number]> = [[1, I32], [7, V128]];
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
const loopOver = (load: E, store: E, step: number): E => whileNot(i32ops.eqz(g(COUNT)), [
  ...g(Y), ...g(X), ...load, ...local.set(V), ...tanhOfV, ...store,
  ...i32ops.add(g(X), i32(step)), ...local.set(X),
  ...i32ops.add(g(Y), i32(step)), ...local.set(Y),
  ...i32ops.sub(g(COUNT), i32(1)), ...local.set(COUNT),
]);

const BODY: E = [
  ...g(N), ...i32(2), 0x76, ...local.set(COUNT), // n >>> 2 groups of 4: v128.load / v128.store
  ...loopOver([...simd(0x00), ...mem()], [...simd(0x0b), ...mem()], 16),
  ...g(N), ...i32(3), 0x71, ...local.set(COUNT), // n & 3 single floats: v128.load32_zero / v128.store32_lane 0
  ...loopOver([...simd(0x5c), ...mem()], [...simd(0x5a), ...mem(), 0], 4),
];

/** tanh over n float32s at byte address x into byte address y (both in the memory it was made for). */
export type TanhFn = (x: number, y: number, n: number) => void;

const tanhModule = heapModule((shared) => moduleBytes([{ name: 'tanh', params: 3, locals: LOCALS, body: BODY }], shared));

/** The SIMD tanh bound to `memory` (compiled once, instantiated once per memory), or undefined where the engine cannot run it. */
export function simdTanh(memory: WebAssembly.Memory): TanhFn | undefined {
  return tanhModule(memory)?.['tanh'] as TanhFn | undefined;
}

/** The SIMD tanh for a wasm backend's heap, or undefined (no SIMD, or a heap it cannot find). */
export const simdTanhFor = forBackend(simdTanh);

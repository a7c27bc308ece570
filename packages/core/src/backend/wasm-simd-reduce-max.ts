// Max over two strided axes, and the mask of its gradient, native in the wasm heap: x viewed as [A, P, M, Q, N] (row-major,
// float32), out[a, m, n] = max over p, q of x[a, p, m, q, n]. This is the 2×2 max-pool of core's
// nn.maxPool2x2 (tf.max of [B, h, 2, w, 2, C] over axes 2 and 4: A = B·h, P = 2, M = w, Q = 2,
// N = C) and any reduction over one or two runs of middle axes. tfjs-backend-wasm's Max reduces the
// last axis only, so for these it first transposes x (a full copy, then a pass), about 2 ms a call
// in the video meta-step; this reads x once, N floats at a time (SIMD128), in place.
// f32x4.max: a NaN anywhere in a window gives NaN, as the cpu backend's Max (only the sign of a zero
// maximum can differ: max(−0, +0) is +0 here, the first of them there).
import { splitRows, type ModuleCall } from './wasm-pool.js';
import { I32, V128, f32x4, i32, i32ops, inc, local, moduleBytes, namedModule, range, v128, whileNot, type E, type WasmFunction } from './wasm-asm.js';

const { get: g, set } = local;
const { add, mul } = i32ops;

const [X, OUT, A, P, M, Q, N] = range(7);
const [NB, SM, SP, SA, XA, XM, J, IP, IQ, PTR, ROW, CA, CM] = range(13).map((i) => 7 + i);
const V = 20;

/** out[J..J + bytes) of the current (a, m), whose x[a, 0, m, 0, ·] is at XM; `load`/`store` move 4 floats or 1. */
const reduce = (load: (addr: E) => E, store: (addr: E, v: E) => E, bytes: number): E => [
  ...load(add(g(XM), g(J))), ...set(V),
  ...g(XM), ...set(ROW),
  ...g(P), ...set(IP),
  ...whileNot(i32ops.eqz(g(IP)), [
    ...g(ROW), ...set(PTR),
    ...g(Q), ...set(IQ),
    ...whileNot(i32ops.eqz(g(IQ)), [
      ...f32x4.max(g(V), load(add(g(PTR), g(J)))), ...set(V),
      ...inc(PTR, g(NB)), ...inc(IQ, i32(-1)),
    ]),
    ...inc(ROW, g(SP)), ...inc(IP, i32(-1)),
  ]),
  ...store(add(g(OUT), g(J)), g(V)),
  ...inc(J, i32(bytes)),
];

const maxPQ: WasmFunction = {
  name: 'maxPQ',
  params: 7,
  locals: [[13, I32], [1, V128]],
  body: [
    ...mul(g(N), i32(4)), ...set(NB), // stride of q (and of out's rows)
    ...mul(g(Q), g(NB)), ...set(SM), // of m
    ...mul(g(M), g(SM)), ...set(SP), // of p
    ...mul(g(P), g(SP)), ...set(SA), // of a
    ...g(X), ...set(XA),
    ...g(A), ...set(CA),
    ...whileNot(i32ops.eqz(g(CA)), [
      ...g(XA), ...set(XM),
      ...g(M), ...set(CM),
      ...whileNot(i32ops.eqz(g(CM)), [
        ...i32(0), ...set(J),
        ...whileNot(i32ops.gtU(add(g(J), i32(16)), g(NB)), reduce((a) => v128.load(a), (a, v) => v128.store(a, v), 16)),
        ...whileNot(i32ops.geU(g(J), g(NB)), reduce((a) => v128.load32Zero(a), (a, v) => v128.store32Lane(a, v, 0), 4)),
        ...inc(OUT, g(NB)), ...inc(XM, g(SM)), ...inc(CM, i32(-1)),
      ]),
      ...inc(XA, g(SA)), ...inc(CA, i32(-1)),
    ]),
  ],
};

// eqPQ(x, y, out, A, P, M, Q, N): out[a, p, m, q, n] = x[a, p, m, q, n] == y[a, m, n] as a bool byte:
// the mask of Max's gradient (x == max(x, keepDims)), which tfjs-wasm computes as a broadcast over
// 6 dims; x and out are walked in order, y's row is re-read for every (p, q).
const [EX, EY, EO, EA, EP, EM, EQ, EN] = range(8);
const [ENB, ECA, ECP, ECM, ECQ, EYA, EYM, JX, JO] = range(9).map((i) => 8 + i);
const EV = 17;
const eqRun = (load: (addr: E) => E, store: (addr: E, v: E) => E, xBytes: number): E => [
  ...f32x4.eq(load(add(g(EX), g(JX))), load(add(g(EYM), g(JX)))), ...set(EV),
  ...store(add(g(EO), g(JO)), f32x4.maskBytes(g(EV))),
  ...inc(JX, i32(xBytes)), ...inc(JO, i32(xBytes / 4)),
];
const eqPQ: WasmFunction = {
  name: 'eqPQ',
  params: 8,
  locals: [[9, I32], [1, V128]],
  body: [
    ...mul(g(EN), i32(4)), ...set(ENB),
    ...g(EY), ...set(EYA),
    ...g(EA), ...set(ECA),
    ...whileNot(i32ops.eqz(g(ECA)), [
      ...g(EP), ...set(ECP),
      ...whileNot(i32ops.eqz(g(ECP)), [
        ...g(EYA), ...set(EYM),
        ...g(EM), ...set(ECM),
        ...whileNot(i32ops.eqz(g(ECM)), [
          ...g(EQ), ...set(ECQ),
          ...whileNot(i32ops.eqz(g(ECQ)), [
            ...i32(0), ...set(JX), ...i32(0), ...set(JO),
            ...whileNot(i32ops.gtU(add(g(JX), i32(16)), g(ENB)), eqRun((a) => v128.load(a), (a, v) => v128.store32Lane(a, v, 0), 16)),
            ...whileNot(i32ops.geU(g(JX), g(ENB)), eqRun((a) => v128.load32Zero(a), (a, v) => v128.store8Lane(a, v, 0), 4)),
            ...inc(EX, g(ENB)), ...inc(EO, g(EN)), ...inc(ECQ, i32(-1)),
          ]),
          ...inc(EYM, g(ENB)), ...inc(ECM, i32(-1)),
        ]),
        ...inc(ECP, i32(-1)),
      ]),
      ...inc(EYA, mul(g(EM), g(ENB))), ...inc(ECA, i32(-1)),
    ]),
  ],
};

const FUNCTIONS = [maxPQ, eqPQ];
/** The module, called as `reduceMax.maxPQ`, `reduceMax.eqPQ`. */
export const reduceMaxModule = namedModule('reduceMax', FUNCTIONS);

/** The module's size in bytes (browsers compile at most 4 KB synchronously on the main thread). */
export const REDUCE_MAX_MODULE_BYTES = moduleBytes(FUNCTIONS, false).length;

/** x viewed as [A, P, M, Q, N]: the axes reduced are P and Q. */
export interface MaxForm { A: number; P: number; M: number; Q: number; N: number }

/**
 * The [A, P, M, Q, N] view of a Max of `shape` over `axes`, where it has one: the reduced axes in at
 * most two runs, none of them last (N ≥ 1 kept floats per row); undefined otherwise.
 */
export function maxForm(shape: readonly number[], axes: readonly number[]): MaxForm | undefined {
  const runs: Array<{ reduced: boolean; size: number }> = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else runs.push({ reduced, size: d });
  });
  if (!runs.length || runs[runs.length - 1]!.reduced) return undefined;
  const r = [...runs];
  const A = r[0]!.reduced ? 1 : r.shift()!.size;
  const P = r.shift()?.size ?? 1;
  if (r.length === 1) return { A, P, M: 1, Q: 1, N: r[0]!.size };
  if (r.length === 3 && r[1]!.reduced) return { A, P, M: r[0]!.size, Q: r[1]!.size, N: r[2]!.size };
  return undefined;
}

/** The module's calls computing out = max of x (byte addresses) over form's P and Q, cut into at most
 * `parts` runs of a (for a kernel pool's threads; each run's outputs are its own). */
export function reduceMaxCalls(x: number, out: number, f: MaxForm, parts: number): ModuleCall[] {
  return splitRows(f.A, parts, 1, 1).map(([a, n]) => ['reduceMax.maxPQ', [x + 4 * a * f.P * f.M * f.Q * f.N, out + 4 * a * f.M * f.N, n, f.P, f.M, f.Q, f.N]]);
}

/** The module's calls computing out = (x == y) as bool bytes, x viewed as form and y as [A, M, N]
 * (Max's result with keepDims), cut into at most `parts` runs of a. */
export function equalMaxCalls(x: number, y: number, out: number, f: MaxForm, parts: number): ModuleCall[] {
  const row = f.P * f.M * f.Q * f.N;
  return splitRows(f.A, parts, 1, 1).map(([a, n]) => ['reduceMax.eqPQ', [x + 4 * a * row, y + 4 * a * f.M * f.N, out + a * row, n, f.P, f.M, f.Q, f.N]]);
}

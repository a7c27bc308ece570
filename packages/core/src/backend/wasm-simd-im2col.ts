// im2col and col2im for the wasm backend's conv2d gradients (wasm-kernels.ts), native in the heap,
// assembled with wasm-asm.ts. With P = B·OH·OW output positions and cols[P, KH·KW·Cin] (row p the
// window of x that output position p sees, zero where it hangs over the padding), the gradients of
// a dilation-1 conv2d are single products on core's SIMD GEMM (wasm-simd-gemm.ts):
//   dW[KH·KW·Cin, Cout] = colsᵀ · dY[P, Cout]          (im2col, then Aᵀ·B)
//   dcols[P, KH·KW·Cin] = dY · Wᵀ, then col2im into dx   (W's own [KH,KW,Cin,Cout] layout is Bᵀ)
// with no Transpose, Reverse or stride dilation of any operand.
// One call does one output row (b, oy); the caller loops over rows, so it can cut the batch into
// chunks that bound the scratch. Per (ox, kh) the in-image part of a window row is one contiguous
// run of (kw1 − kw0)·Cin floats in both x and cols: im2col copies it with memory.copy and zeroes
// the rest with memory.fill (bulk memory); col2im adds it into dx 4 floats at a time (SIMD128), the
// tail one at a time. col2im visits ox, then kh, then kw in order (rows in the order called), so every
// dx value is one fixed sequence of float32 adds: same inputs, same bits.
import type { ModuleCall } from './wasm-pool.js';
import { I32, f32ops, f32x4, i32, i32ops, inc, local, memops, moduleBytes, namedModule, range, v128, when, whileNot, type E, type WasmFunction } from './wasm-asm.js';

const { get: g, set } = local;
const { add, sub, mul } = i32ops;

// Parameters of both row functions: the cols side (cols or dcols, at the row's first position), the
// image side (x or dx, at image b), iy0 = oy·sh − padTop, then the geometry.
const [COLS, IMG, IY0, H, W, C, OW, KH, KW, SW, LEFT] = range(11);
const [OX, KY, IY, IX0, K0, K1, P, CB, ROW, D, S, Q] = range(12).map((i) => 11 + i);
const LOCALS: Array<[number, number]> = [[12, I32]];

/** dst[0..n) += src[0..n) (float32, byte addresses in locals D and S, n floats), each value once. */
const addRun = (n: E): E => [
  ...i32ops.shrU(n, i32(2)), ...set(Q),
  ...whileNot(i32ops.eqz(g(Q)), [
    ...v128.store(g(D), f32x4.add(v128.load(g(D)), v128.load(g(S)))),
    ...inc(D, i32(16)), ...inc(S, i32(16)), ...inc(Q, i32(-1)),
  ]),
  ...i32ops.and(n, i32(3)), ...set(Q),
  ...whileNot(i32ops.eqz(g(Q)), [
    ...f32ops.store(g(D), f32ops.add(f32ops.load(g(D)), f32ops.load(g(S)))),
    ...inc(D, i32(4)), ...inc(S, i32(4)), ...inc(Q, i32(-1)),
  ]),
];

/** The loops over (ox, kh) of one output row; `run` handles window row kh of position ox: its
 * in-image columns are kw in [K0, K1) (K0 = K1 = KW when the row iy is outside the image). */
function rowFunction(name: string, run: E): WasmFunction {
  const body: E = [
    ...mul(g(C), i32(4)), ...set(CB),
    ...mul(g(KW), g(CB)), ...set(ROW),
    ...g(COLS), ...set(P),
    ...sub(i32(0), g(LEFT)), ...set(IX0),
    ...g(OW), ...set(OX),
    ...whileNot(i32ops.eqz(g(OX)), [
      ...i32(0), ...set(KY),
      ...whileNot(i32ops.geU(g(KY), g(KH)), [
        ...add(g(IY0), g(KY)), ...set(IY),
        // kw0 = clamp(−ix0, 0, KW), kw1 = clamp(W − ix0, kw0, KW) (signed: ix0 may be negative)
        ...i32ops.maxS(i32(0), i32ops.minS(sub(i32(0), g(IX0)), g(KW))), ...set(K0),
        ...i32ops.maxS(g(K0), i32ops.minS(sub(g(W), g(IX0)), g(KW))), ...set(K1),
        // (an unsigned compare: a negative iy is out too)
        ...when(i32ops.geU(g(IY), g(H)), [...g(KW), ...set(K0), ...g(KW), ...set(K1)]),
        ...run,
        ...inc(P, g(ROW)),
        ...inc(KY, i32(1)),
      ]),
      ...inc(IX0, g(SW)),
      ...inc(OX, i32(-1)),
    ]),
  ];
  return { name, params: 11, locals: LOCALS, body };
}

/** Byte address of image pixel (IY, IX0 + K0). */
const pixel: E = add(g(IMG), mul(add(mul(g(IY), g(W)), add(g(IX0), g(K0))), g(CB)));
const inImage = i32ops.gtS(g(K1), g(K0));

const im2col = rowFunction('im2col', [
  ...memops.fill(g(P), i32(0), mul(g(K0), g(CB))),
  ...when(inImage, memops.copy(add(g(P), mul(g(K0), g(CB))), pixel, mul(sub(g(K1), g(K0)), g(CB)))),
  ...memops.fill(add(g(P), mul(g(K1), g(CB))), i32(0), sub(g(ROW), mul(g(K1), g(CB)))),
]);

const col2im = rowFunction('col2im', when(inImage, [
  ...pixel, ...set(D),
  ...add(g(P), mul(g(K0), g(CB))), ...set(S),
  ...addRun(mul(sub(g(K1), g(K0)), g(C))),
]));

// add(dst, src, n): dst += src over n floats (summing the partial dW of batch chunks); i32 locals
// 3..Q so that addRun's D, S, Q are the same indices as in the row functions.
const addFn: WasmFunction = { name: 'add', params: 3, locals: [[Q - 2, I32]], body: [...g(0), ...set(D), ...g(1), ...set(S), ...addRun(g(2))] };

const FUNCTIONS = [im2col, col2im, addFn];
/** The module, called as `im2col.im2col`, `im2col.col2im`, `im2col.add`. */
export const im2colModule = namedModule('im2col', FUNCTIONS);

/** The module's size in bytes (browsers compile at most 4 KB synchronously on the main thread). */
export const IM2COL_MODULE_BYTES = moduleBytes(FUNCTIONS, false).length;

/** A dilation-1 conv2d's geometry (as computeConv2DInfo gives it). */
export interface ConvGeometry { h: number; w: number; c: number; oh: number; ow: number; kh: number; kw: number; sh: number; sw: number; top: number; left: number }

export interface Im2colFns {
  /** cols rows of output rows r0 ≤ r < r0 + rows (r = b·OH + oy) of image x, at byte address cols. */
  im2col(x: number, cols: number, geo: ConvGeometry, r0: number, rows: number): void;
  /** dx += col2im(dcols) for the same rows (dcols at byte address dcols holds those rows only). */
  col2im(dcols: number, dx: number, geo: ConvGeometry, r0: number, rows: number): void;
  /** dst += src over n floats. */
  add(dst: number, src: number, n: number): void;
}

/** The module's calls for output rows r0 ≤ r < r0 + n (both take the rows' cols, then the image):
 * im2col of image `img` into `colsAt` (`im2col.im2col`), or img += col2im(colsAt) (`im2col.col2im`);
 * byte addresses. */
export function im2colCalls(kind: 'im2col' | 'col2im', img: number, colsAt: number, geo: ConvGeometry, r0: number, n: number): ModuleCall[] {
  const { h, w, c, oh, ow, kh, kw, sh, sw, top, left } = geo;
  const rowBytes = 4 * ow * kh * kw * c;
  const out: ModuleCall[] = [];
  for (let r = r0; r < r0 + n; r++) {
    const [b, oy] = [Math.floor(r / oh), r % oh];
    const [p, q] = [colsAt + (r - r0) * rowBytes, img + 4 * b * h * w * c];
    out.push([`im2col.${kind}`, [p, q, oy * sh - top, h, w, c, ow, kh, kw, sw, left]]);
  }
  return out;
}

/** im2col / col2im bound to `memory`, or undefined where the engine cannot run them. */
export function simdIm2col(memory: WebAssembly.Memory): Im2colFns | undefined {
  const ex = im2colModule.calls(memory);
  if (!ex) return undefined;
  const run = (calls: ModuleCall[]) => {
    for (const [name, args] of calls) ex[name]!(...args);
  };
  return {
    im2col: (x, cols, geo, r0, n) => run(im2colCalls('im2col', x, cols, geo, r0, n)),
    col2im: (dcols, dx, geo, r0, n) => run(im2colCalls('col2im', dx, dcols, geo, r0, n)),
    add: ex['im2col.add']!,
  };
}

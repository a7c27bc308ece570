// A native float32 matrix product for the wasm backend: C[M,N] = op(A)·op(B) with SIMD128, reading A
// and B in place in the backend's heap (assembled with wasm-asm.ts). XNNPACK, which tfjs-backend-wasm
// 4.22's BatchMatMul runs, packs (copies) its right operand on every call with a new B, and the
// transposed operands of every gradient had to be copied by Transpose first; this reads both as they
// are stored. Three forms:
// - outer (B not transposed): a 4×8 tile of C in 8 f32x4 registers; per k, 4 splatted A values
//   times 2 vectors of a B row. A may be either way round (its two strides are arguments). Column
//   tails: a 4×4 tile, then single columns with the 4 rows in the lanes of one vector.
// - stream (B not transposed, few rows of A or a big B): C accumulates in memory, B is read row by
//   row once per 4 rows of A (below);
// - dot (B transposed, A not): 4 rows of A against 2 rows of B, 4 k at a time in the lanes, then a
//   horizontal sum ((l0 + l1) + (l2 + l3)), for the 4 rows of a column at once by shuffles; the k
//   tail one value at a time in lane 0.
// Why not bigger tiles or unrolled k (measured 2026-11-29, median CPU, interleaved, Node 20 on the
// 2-core EPYC): outer's k loop on [256,200]·[200,200] runs within ~5% of the same 4×8 loop reading
// fixed addresses (no pointer walking), and that loop with a 6×8 tile is no faster: the multiplies
// and adds bound it (no FMA), not the loads or the pointer arithmetic. Tried and dropped: 5×8 and
// 6×8 tiles (25% slower: V8 can hoist a body's loads above its arithmetic, and the 15 usable xmm
// registers then spill), 2×16, one pointer for Aᵀ's 4 consecutive rows, k counted by an end
// pointer (all within ±3%), dot unrolled to 8 or 16 k (20–25% slower, spills), Bᵀ copied by
// Transpose for outer instead of dot (no faster through tf.matMul). dot's shuffled horizontal sums:
// 1–6% faster on A·Bᵀ than scalar ones, same bits.
// In outer and dot, row (and, in dot, column) tails recompute the last row (column) into the unused
// slots of the tile and store the same value twice, so every size from 1 up needs no other code;
// K = 0 stores zeros.
// Each C value is one fixed sequence of rounded float32 multiplies and adds (k in order in the outer
// and stream forms, which give the same bits), whichever tile computes it: same inputs, same bits.
import { kernelPoolFor, splitRows, type ModuleCall } from './wasm-pool.js';
import { I32, V128, f32ops, f32x4, forBackend, i32, i32ops, inc, local, moduleBytes, namedModule, range, v128, when, whileNot, type E, type WasmFunction } from './wasm-asm.js';

const { get: g, set } = local;
const { add, mul } = i32ops;

/** Local indices after `params` parameters: i32 scalars, then v128 ones. */
function layout(params: number, ints: number, vecs: number) {
  let at = params;
  const take = (n: number) => range(n).map(() => at++);
  return { int: take(ints), vec: take(vecs), locals: [[ints, I32], [vecs, V128]] as Array<[number, number]> };
}

// ---- outer(a, b, c, m, n, k, ra, pa, pb): A'(i,p) at a + i·ra + p·pa, B'(p,j) at b + p·pb + 4j ----
function outer(): WasmFunction {
  const [A, B, C, M, N, K, RA, PA, PB] = range(9);
  const L = layout(9, 16, 12);
  const [I, J, Q, BQ] = L.int;
  const rowA = L.int.slice(4, 8); // the panel's 4 rows of A' (clamped to m − 1)
  const rowC = L.int.slice(8, 12); // …and of C
  const ptr = L.int.slice(12, 16); // walking A' pointers
  const acc = L.vec.slice(0, 8);
  const [BV0, BV1, AV, ZERO] = L.vec.slice(8); // ZERO is never written: locals start as zeros
  const colC = (r: number) => add(g(rowC[r]!), mul(g(J), i32(4)));

  /** C[rows, J..J+width) for width 8, 4 (vectors along j) or 1 (the 4 rows in lanes). */
  const tile = (width: 8 | 4 | 1): E => {
    const nv = width === 8 ? 2 : 1;
    const accs = width === 1 ? [acc[0]!] : acc.slice(0, 4 * nv);
    const step: E =
      width === 1
        ? [
            ...v128.load32Lane(g(ptr[3]!), v128.load32Lane(g(ptr[2]!), v128.load32Lane(g(ptr[1]!), v128.load32Zero(g(ptr[0]!)), 1), 2), 3), ...set(AV),
            ...f32x4.add(g(acc[0]!), f32x4.mul(g(AV), v128.load32Splat(g(BQ)))), ...set(acc[0]!),
          ]
        : [
            ...v128.load(g(BQ)), ...set(BV0),
            ...(nv === 2 ? [...v128.load(g(BQ), 16), ...set(BV1)] : []),
            ...range(4).flatMap((r) => [
              ...v128.load32Splat(g(ptr[r]!)), ...set(AV),
              ...range(nv).flatMap((v) => [...f32x4.add(g(acc[r * nv + v]!), f32x4.mul(g(AV), g(v ? BV1 : BV0))), ...set(acc[r * nv + v]!)]),
            ]),
          ];
    const store: E =
      width === 1
        ? range(4).flatMap((r) => v128.store32Lane(colC(r), g(acc[0]!), r))
        : range(4).flatMap((r) => range(nv).flatMap((v) => v128.store(colC(r), g(acc[r * nv + v]!), 16 * v)));
    return [
      ...accs.flatMap((x) => [...g(ZERO), ...set(x)]),
      ...range(4).flatMap((r) => [...g(rowA[r]!), ...set(ptr[r]!)]),
      ...add(g(B), mul(g(J), i32(4))), ...set(BQ),
      ...g(K), ...set(Q),
      ...whileNot(i32ops.eqz(g(Q)), [
        ...step,
        ...range(4).flatMap((r) => inc(ptr[r]!, g(PA))),
        ...inc(BQ, g(PB)),
        ...inc(Q, i32(-1)),
      ]),
      ...store,
    ];
  };
  const body: E = whileNot(i32ops.geU(g(I), g(M)), [
    ...range(4).flatMap((r) => {
      const row = i32ops.minU(add(g(I), i32(r)), add(g(M), i32(-1)));
      return [...add(g(A), mul(row, g(RA))), ...set(rowA[r]!), ...add(g(C), mul(row, mul(g(N), i32(4)))), ...set(rowC[r]!)];
    }),
    ...i32(0), ...set(J),
    ...whileNot(i32ops.gtU(add(g(J), i32(8)), g(N)), [...tile(8), ...inc(J, i32(8))]),
    ...when(i32ops.eqz(i32ops.gtU(add(g(J), i32(4)), g(N))), [...tile(4), ...inc(J, i32(4))]),
    ...whileNot(i32ops.geU(g(J), g(N)), [...tile(1), ...inc(J, i32(1))]),
    ...inc(I, i32(4)),
  ]);
  return { name: 'outer', params: 9, locals: L.locals, body };
}

// ---- dot(a, b, c, m, n, k, ra, rb): A'(i,p) at a + i·ra + 4p, B'(p,j) at b + j·rb + 4p ----
function dot(): WasmFunction {
  const [A, B, C, M, N, K, RA, RB] = range(8);
  const L = layout(8, 17, 15);
  const [I, J, Q] = L.int;
  const rowA = L.int.slice(3, 7);
  const rowC = L.int.slice(7, 11);
  const pa = L.int.slice(11, 15); // walking pointers: 4 rows of A', 2 columns of B'
  const pb = L.int.slice(15, 17);
  const acc = L.vec.slice(0, 8); // acc[2r + s]: row r, column s
  const av = L.vec.slice(8, 12);
  const bv = L.vec.slice(12, 14);
  const ZERO = L.vec[14]!;
  const col = (s: number) => i32ops.minU(add(g(J), i32(s)), add(g(N), i32(-1)));
  const pass = (load: (p: E) => E, bytes: number): E => [
    ...range(4).flatMap((r) => [...load(g(pa[r]!)), ...set(av[r]!)]),
    ...range(2).flatMap((s) => [...load(g(pb[s]!)), ...set(bv[s]!)]),
    ...range(8).flatMap((x) => [...f32x4.add(g(acc[x]!), f32x4.mul(g(av[x >> 1]!), g(bv[x & 1]!))), ...set(acc[x]!)]),
    ...[...pa, ...pb].flatMap((p) => inc(p, i32(bytes))),
    ...inc(Q, i32(-1)),
  ];
  // Lane r of hsum4(v0..v3) = (vr.l0 + vr.l1) + (vr.l2 + vr.l3): four horizontal sums in 6 shuffles
  // and 3 adds (instead of 4 lane extracts and 3 scalar adds per value), in the same order.
  const pairs = (x: E, y: E): E => f32x4.add(f32x4.shuffle(x, y, [0, 2, 4, 6]), f32x4.shuffle(x, y, [1, 3, 5, 7]));
  const hsum4 = (v: E[]): E => pairs(pairs(v[0]!, v[1]!), pairs(v[2]!, v[3]!));
  const tile: E = [
    ...acc.flatMap((x) => [...g(ZERO), ...set(x)]),
    ...range(4).flatMap((r) => [...g(rowA[r]!), ...set(pa[r]!)]),
    ...range(2).flatMap((s) => [...add(g(B), mul(col(s), g(RB))), ...set(pb[s]!)]),
    ...i32ops.shrU(g(K), i32(2)), ...set(Q),
    ...whileNot(i32ops.eqz(g(Q)), pass((p) => v128.load(p), 16)),
    ...i32ops.and(g(K), i32(3)), ...set(Q),
    ...whileNot(i32ops.eqz(g(Q)), pass((p) => v128.load32Zero(p), 4)),
    // column s of the tile: row r's sum in lane r
    ...range(2).flatMap((s) => [
      ...hsum4(range(4).map((r) => g(acc[2 * r + s]!))), ...set(av[0]!),
      ...mul(col(s), i32(4)), ...set(Q),
      ...range(4).flatMap((r) => v128.store32Lane(add(g(rowC[r]!), g(Q)), g(av[0]!), r)),
    ]),
  ];
  const body: E = whileNot(i32ops.geU(g(I), g(M)), [
    ...range(4).flatMap((r) => {
      const row = i32ops.minU(add(g(I), i32(r)), add(g(M), i32(-1)));
      return [...add(g(A), mul(row, g(RA))), ...set(rowA[r]!), ...add(g(C), mul(row, mul(g(N), i32(4)))), ...set(rowC[r]!)];
    }),
    ...i32(0), ...set(J),
    ...whileNot(i32ops.geU(g(J), g(N)), [...tile, ...inc(J, i32(2))]),
    ...inc(I, i32(4)),
  ]);
  return { name: 'dot', params: 8, locals: L.locals, body };
}

// ---- stream(a, b, c, m, n, k, ra, pa, pb): as outer, but C accumulates in memory ----
// For few rows of A against a big B: each B row is read once, in order, for 4 rows of C at a time
// (outer walks B down a column strip 8 wide, a cache miss per row once B outgrows the cache, and
// when the row length is a multiple of 4 KB every row of the strip lands in the same cache set).
// C is zeroed first, then C += A'(i,p)·B'(p,:) for p in order: the same roundings as outer.
function stream(): WasmFunction {
  const [A, B, C, M, N, K, RA, PA, PB] = range(9);
  const L = layout(9, 17, 6);
  const [I, J, P, BQ, Q] = L.int;
  const rowA = L.int.slice(5, 9); // walking down k
  const rowC = L.int.slice(9, 13);
  const cq = L.int.slice(13, 17); // walking along a C row
  const av = L.vec.slice(0, 4);
  const [BV, ZERO] = L.vec.slice(4);
  const panel = (rows: number): E => {
    const rs = range(rows);
    return [
      ...rs.flatMap((r) => [
        ...add(g(A), mul(add(g(I), i32(r)), g(RA))), ...set(rowA[r]!),
        ...add(g(C), mul(add(g(I), i32(r)), mul(g(N), i32(4)))), ...set(rowC[r]!),
      ]),
      ...g(B), ...set(BQ),
      ...i32(0), ...set(P),
      ...whileNot(i32ops.geU(g(P), g(K)), [
        ...rs.flatMap((r) => [...v128.load32Splat(g(rowA[r]!)), ...set(av[r]!), ...inc(rowA[r]!, g(PA))]),
        ...rs.flatMap((r) => [...g(rowC[r]!), ...set(cq[r]!)]),
        ...g(BQ), ...set(Q), // walking B pointer
        ...i32ops.shrU(g(N), i32(2)), ...set(J),
        ...whileNot(i32ops.eqz(g(J)), [
          ...v128.load(g(Q)), ...set(BV),
          ...rs.flatMap((r) => v128.store(g(cq[r]!), f32x4.add(v128.load(g(cq[r]!)), f32x4.mul(g(av[r]!), g(BV))))),
          ...rs.flatMap((r) => inc(cq[r]!, i32(16))), ...inc(Q, i32(16)), ...inc(J, i32(-1)),
        ]),
        ...i32ops.and(g(N), i32(3)), ...set(J),
        ...whileNot(i32ops.eqz(g(J)), [
          ...rs.flatMap((r) => f32ops.store(g(cq[r]!), f32ops.add(f32ops.load(g(cq[r]!)), f32ops.mul(f32x4.extractLane(g(av[r]!), 0), f32ops.load(g(Q)))))),
          ...rs.flatMap((r) => inc(cq[r]!, i32(4))), ...inc(Q, i32(4)), ...inc(J, i32(-1)),
        ]),
        ...inc(BQ, g(PB)), ...inc(P, i32(1)),
      ]),
    ];
  };
  const body: E = [
    // zero C: m·n floats from c
    ...g(C), ...set(Q), ...mul(g(M), g(N)), ...set(J),
    ...whileNot(i32ops.ltU(g(J), i32(4)), [...v128.store(g(Q), g(ZERO)), ...inc(Q, i32(16)), ...inc(J, i32(-4))]),
    ...whileNot(i32ops.eqz(g(J)), [...f32ops.store(g(Q), f32x4.extractLane(g(ZERO), 0)), ...inc(Q, i32(4)), ...inc(J, i32(-1))]),
    ...whileNot(i32ops.gtU(add(g(I), i32(4)), g(M)), [...panel(4), ...inc(I, i32(4))]),
    ...whileNot(i32ops.geU(g(I), g(M)), [...panel(1), ...inc(I, i32(1))]),
  ];
  return { name: 'stream', params: 9, locals: L.locals, body };
}

const FUNCTIONS = [outer(), dot(), stream()];
/** The product's module, called as `gemm.outer`, `gemm.dot`, `gemm.stream`. */
export const gemmModule = namedModule('gemm', FUNCTIONS);

/** C = op(A)·op(B) at byte addresses a, b, c of float32 row-major matrices: A is [m, k] ([k, m] when
 * `ta`), B is [k, n] ([n, k] when `tb`), C is [m, n]. Not both transposed. */
export type GemmFn = (a: number, b: number, c: number, m: number, n: number, k: number, ta: boolean, tb: boolean) => void;

/** The module's size in bytes (browsers compile at most 4 KB synchronously on the main thread). */
export const GEMM_MODULE_BYTES = moduleBytes(FUNCTIONS, false).length;

/** Which form a product with B not transposed takes: 'auto' as below; tests force one. */
export const gemmTuning = { form: 'auto' as 'auto' | 'stream' | 'outer' };
// stream for few rows or a big B, measured (ms, stream / outer, loaded 2-core machine): [4,1024]·
// [1024,1024] 1.0 / 7.1, [16,1024]·[1024,1024] 6.8 / 18.7, [64,1024]·[1024,1024] 17 / 28,
// [32,16384]·[16384,64] 13.6 / 14.3, [32,200]·[200,200] 0.29 / 0.28, [64,200]·[200,200] 0.56 / 0.43,
// [256,200]·[200,200] 4.1 / 1.5, [512,512]·[512,512] 30 / 24.
const useStream = (m: number, k: number, n: number) => (gemmTuning.form === 'auto' ? m <= 32 || k * n >= 1 << 19 : gemmTuning.form === 'stream');

/** Where a kernel pool serves the heap: products of at least this many multiply-adds are split by
 * rows over its threads (below it, waking the workers costs more than they save). Tests lower it. */
export const gemmPoolTuning = { minMacs: 1 << 21, minRows: 16 };

/** The one module call that computes C = op(A)·op(B) (see GemmFn), as `gemm.<form>` and its arguments. */
export function gemmCall(a: number, b: number, c: number, m: number, n: number, k: number, ta: boolean, tb: boolean): ModuleCall {
  if (ta && tb) throw new Error('simdGemm: transpose one operand first (no kernel for Aᵀ·Bᵀ)');
  if (tb) return ['gemm.dot', [a, b, c, m, n, k, 4 * k, 4 * k]];
  return [useStream(m, k, n) ? 'gemm.stream' : 'gemm.outer', [a, b, c, m, n, k, ta ? 4 : 4 * k, ta ? 4 * m : 4, 4 * n]];
}

/** The SIMD product bound to `memory`, or undefined where the engine cannot run it. */
export function simdGemm(memory: WebAssembly.Memory): GemmFn | undefined {
  const fns = gemmModule.calls(memory);
  if (!fns) return undefined;
  return (a, b, c, m, n, k, ta, tb) => {
    if (m === 0 || n === 0) return;
    const [name, args] = gemmCall(a, b, c, m, n, k, ta, tb);
    const pool = m * n * k >= gemmPoolTuning.minMacs ? kernelPoolFor(memory) : undefined;
    if (!pool) return fns[name]!(...args);
    // Rows of C in independent runs (multiples of the 4-row panel): A'(i, ·) starts at a + i·ra and
    // every stride stays the whole product's, so each thread computes its rows exactly as the whole
    // call would, and the bits do not depend on the thread count.
    const ra = args[6]!;
    const fn = pool.fn(name);
    pool.run(splitRows(m, pool.threads, 4, gemmPoolTuning.minRows).map(([i0, rows]) => [{ fn, args: [a + i0 * ra, b, c + i0 * 4 * n, rows, ...args.slice(4)] }]));
  };
}

/** The SIMD product for a wasm backend's heap, or undefined (no SIMD, or a heap it cannot find). */
export const simdGemmFor = forBackend(simdGemm);

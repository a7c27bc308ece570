// wasm kernels registered by core, composed from the wasm backend's own kernels (so they run on
// XNNPACK / the wasm heap, not as JS loops):
// - added: kernels training needs and tfjs-backend-wasm 4.22 lacks;
// - replaced: kernels wasm has but runs as scalar loops on paths that meta-training hits (measured in
//   bench/meta-step, see bench/README.md), or gets wrong (MaxPoolGrad, MaxPool3D, Dilation2D,
//   Conv3D's backprops; binary ops past rank 6). A replacement keeps the original kernel to call into.
// Only forward kernels change: gradients are registered by kernel name, so the second-order fixes
// (second-order/gradients.ts) apply unchanged. Registered by registerWasmKernels().
import { tf } from '../tf.js';
import { simdTanhFor } from './wasm-simd-tanh.js';
import { gemmCall, gemmModule, simdGemm, simdGemmFor, type GemmFn } from './wasm-simd-gemm.js';
import { kernelPoolFor, runPlans, splitRows, type ModuleCall, type PoolModule } from './wasm-pool.js';
import { equalMaxCalls, maxForm, reduceMaxCalls, reduceMaxModule } from './wasm-simd-reduce-max.js';
import { im2colCalls, im2colModule, simdIm2col, type ConvGeometry, type Im2colFns } from './wasm-simd-im2col.js';
import { wasmHeap, type CallTable } from './wasm-asm.js';
import { KernelComposer, broadcastMatMulBatches, einsumKernel, freeOnThrow, padShape, prod, type Info, type KernelArgs, type KernelFunc } from './composer.js';


/** The stock wasm kernels that core replaced, by name (what the replacements call into). */
const ORIGINALS = new Map<string, KernelFunc>();

class Composer extends KernelComposer {
  private readonly heap: WasmHeapBackend;
  constructor(backend: never) {
    super(backend, 'wasm', ORIGINALS);
    this.heap = backend;
  }
  /** An uninitialised float32 buffer in the heap, freed with the other intermediates unless it is the
   * result (for kernels that write every value themselves: outputs, scratch). */
  empty(shape: number[], dtype: 'float32' | 'bool' = 'float32'): Info {
    return this.keep(this.heap.makeOutput(shape, dtype));
  }
  /** Byte address of x's data in the heap (stable: growing the heap does not move it). */
  at(x: Info): number {
    return this.heap.getMemoryOffset(x.dataId);
  }
}

// dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-padT, ow*s+kw-padL, ci] * dy[n,oh,ow,co]: float32 as
// im2col + the SIMD GEMM (filterGradIm2col below); otherwise (no SIMD, switched off) a conv2d of x^T
// ([Ci,H,W,N], batch = Ci) with dy^T ([OH,OW,N,Co] as filter) dilated by the stride.
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | number[][];
    dataFormat: string;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat && a.dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropFilter: only NHWC is supported, got ${a.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad as 'same', a.dimRoundingMode,
  );
  const simd = simdConvGrad(backend, x, dy);
  if (simd && im2colPays(info, 'filter')) return filterGradIm2col(simd, backend, x, dy, info);
  const c = new Composer(backend as never);
  const [kh, kw, ci, co] = a.filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, inHeight: h, inWidth: w } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows needed: top + h + bottom >= kh + (oh-1)*sh; extra rows (bottom < 0) are sliced away.
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);
  const xt = c.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyt = c.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = c.run(
    'Conv2D',
    { x: xt, filter: dyt },
    { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [sh, sw] },
  );
  const cut = c.run('Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
  return c.done(c.run('Transpose', { x: cut }, { perm: [1, 2, 0, 3] }));
}

// ---- conv2d gradients as im2col / col2im around one SIMD matrix product (wasm-simd-im2col.ts) ----

// The native modules whose functions the kernels below call by name (gemm.outer, im2col.col2im, …),
// on this thread or on a kernel pool's workers, which instantiate the same list.
const KERNEL_MODULES = [gemmModule, im2colModule, reduceMaxModule];
const callTables = new WeakMap<WebAssembly.Memory, CallTable | null>();

/** Every kernel module's functions over `heap` by call name, or undefined where the engine cannot run them. */
function kernelCalls(heap: WebAssembly.Memory): CallTable | undefined {
  if (!callTables.has(heap)) {
    const tables = KERNEL_MODULES.map((m) => m.calls(heap));
    callTables.set(heap, tables.every((t) => t) ? Object.assign({}, ...tables) : null);
  }
  return callTables.get(heap) ?? undefined;
}

/** What a kernel pool's workers instantiate (select.ts makes the pool), or undefined where the engine cannot run it. */
export function kernelPoolModules(): PoolModule[] | undefined {
  const mods = KERNEL_MODULES.map((m) => m.poolModule());
  return mods.every((m) => m) ? (mods as PoolModule[]) : undefined;
}

interface ConvSimd {
  gemm: GemmFn;
  cols: Im2colFns;
  heap: WebAssembly.Memory;
  /** This thread's module functions by call name (for gemmCall's and im2colCalls' plans). */
  local: CallTable;
}

/** The SIMD GEMM and im2col module for float32 conv gradients, or undefined (no SIMD, switched off). */
function simdConvGrad(backend: unknown, ...xs: Info[]): ConvSimd | undefined {
  if (!wasmKernelTuning.simdConvGrad || !wasmKernelTuning.simdMatMul || xs.some((x) => x.dtype !== 'float32')) return undefined;
  const heap = wasmHeap(backend);
  const gemm = heap && simdGemm(heap);
  const cols = gemm && simdIm2col(heap);
  const local = cols && kernelCalls(heap);
  return heap && gemm && cols && local ? { gemm, cols, heap, local } : undefined;
}

function geometryOf(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    h: info.inHeight, w: info.inWidth, c: info.inChannels, oh: info.outHeight, ow: info.outWidth, kh: info.filterHeight,
    kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth, top: info.padInfo.top, left: info.padInfo.left,
  };
}

// Chunks are sized for the cache, not only for the scratch cap: the GEMM walks cols (colsᵀ·dY: down
// its columns) once per 4×8 tile of dW, so cols past L2 is read from memory every time. x [4,32,32,32],
// dy [4,32,32,64], 5×5 (ms, 2-core EPYC, loaded): 44 with all 4096 positions in one 13 MB chunk
// (slower than the composed path's 36), 15 in chunks of 64 positions (256 KB), 19 at 256 positions.
// Each further chunk of dW costs a partial product and an add of KH·KW·Cin·Cout floats, which at
// ≥ 64 positions a chunk is ≤ 1/64 of its products: SVG's dy [4,4,4,1024]·[4,4,256,1024] (64 positions,
// 16 MB dW) takes 42–47 ms in one chunk, 57–64 in 4, 69–73 in 16.
const CHUNK_FLOATS = 1 << 16;
const CHUNK_MIN_POSITIONS = 64;
/** dW's chunks are summed in this many runs, then added (see filterGradIm2col): the threads a kernel
 * pool gives the filter gradient, fixed so that the bits do not depend on the thread count. */
const CONV_CHAINS = 2;
/** Output rows (b, oy) per chunk (OW positions of KH·KW·Cin floats each): see above; at most the scratch cap. */
function chunkRows(g: ConvGeometry): number {
  const row = g.ow * g.kh * g.kw * g.c;
  const positions = Math.max(CHUNK_MIN_POSITIONS, CHUNK_FLOATS / (g.kh * g.kw * g.c));
  return Math.max(1, Math.min(Math.floor(positions / g.ow), Math.floor(wasmKernelTuning.convScratchFloats / row)));
}

// im2col + SIMD GEMM against the previous paths (ms per call, median CPU, interleaved, Node 20 on the
// loaded 2-core EPYC; "old": the composed path above each kernel, or stock wasm where it ran):
//   x, filter, stride ('same')             filter grad old / new   input grad old / new
//   [4,32,32,32], 5×5×32×64, 1  (video)        36 / 15–20             23.6 / 17–18
//   [4,32,32,32], 4×4×32×64, 2  (video)       6.0 / 3.2–4.2           15 / 3.2
//   [4,8,8,256], 4×4×256×1024, 2 (SVG deep)    61 / 43                205 / 22
//   [4,128,128,3], 4×4×3×64, 2                 19 / 7                  48 / 5–9
//   [4,64,64,3], 4×4×3×32, 2                  2.2–8 / 1.5–1.9        6.8 / 1.0–1.3
//   [4,32,32,32], 1×1×32×64, 1 ('valid')      4.1 / 1.2              1.2 / 1.1
//   [4,64,64,32], 4×4×32×3, 2                 3.9–6 / 1.8–2.6        4.6 / 2.8
//   [4,32,32,64], 4×4×64×3, 1                 4.2 / 2.8               2.3 / 2.7–3.0
//   [4,32,32,32], 3×3×32×4, 1                 2.4 / 0.9               1.2 / 1.1
//   [4,32,32,64], 3×3×64×32, 1  (video)          –                    8.1 / 8.3
//   [4,64,64,6], 5×5×6×32, 1    (video)          –                    9.3 / 8.4
//   [4,16,16,64], 3×3×64×64, 1  (video)          –                    5.1 / 3.2
// The composed input gradient wins only at stride 1 with few output channels (no dilation there, and
// dcols is KH·KW·Cin values per position for Cout multiply-adds each): it keeps those. At stride 1
// with more channels the two are close (XNNPACK's conv against the dot form plus col2im).
function im2colPays(info: tf.backend_util.Conv2DInfo, which: 'filter' | 'input'): boolean {
  if (which === 'filter') return true;
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1;
  const composed = info.batchSize * info.outHeight * info.outWidth >= wasmKernelTuning.conv2dBackpropInputMinPositions;
  return !(stride1 && info.outChannels < 8 && composed);
}

// dW[KH·KW·Cin, Cout] = colsᵀ · dY[P, Cout], chunk by chunk of output rows; chunks after the first
// go to a partial product that is added on (so the bits depend on the chunk size, which depends
// only on the shapes and convScratchFloats). With Cout under the outer form's 8-column tile, the
// product is dWᵀ = dYᵀ · cols instead (the stream form: cols read once, in order; x [4,32,32,64],
// 4×4 → 3 channels: 12 ms as colsᵀ·dY, 4.2 composed, see the table), then transposed (Cout·KH·KW·Cin
// values). Both sum the positions in order: the same bits either way.
function filterGradIm2col(simd: ConvSimd, backend: unknown, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info {
  const g = geometryOf(info);
  const [kkc, co, rows] = [g.kh * g.kw * g.c, info.outChannels, info.batchSize * g.oh];
  const shape = [g.kh, g.kw, g.c, co];
  const swap = co < 8;
  const c = new Composer(backend as never);
  if (kkc * co === 0 || rows * g.ow === 0) return c.done(c.tensor(new Float32Array(kkc * co), shape));
  const acc = c.empty(swap ? [co, kkc] : shape);
  const chunk = Math.min(rows, chunkRows(g));
  const [px, pdy, po] = [c.at(x), c.at(dy), c.at(acc)];
  /** colsᵀ·dY (or, swapped, dYᵀ·cols) of n output rows into target: the product's A, B, C, m, n, k. */
  const operands = (pc: number, pd: number, target: number, n: number) =>
    (swap ? [pd, pc, target, co, kkc, n * g.ow] : [pc, pd, target, kkc, co, n * g.ow]) as [number, number, number, number, number, number];
  const chunks = Math.ceil(rows / chunk);
  if (chunks === 1) {
    // One product, split by rows over a kernel pool's threads where one runs (simd.gemm).
    const pc = c.at(c.empty([rows * g.ow * kkc]));
    simd.cols.im2col(px, pc, g, 0, rows);
    simd.gemm(...operands(pc, pdy, po, rows), true, false);
  } else {
    // The chunks in CONV_CHAINS runs, each summed on its own (one thread each where a kernel pool
    // runs), then added in order: the same sums, so the same bits, for any thread count.
    const plans: ModuleCall[][] = [];
    const sums: number[] = [];
    for (const [q0, count] of splitRows(chunks, CONV_CHAINS, 1, 1)) {
      const last = q0 + count;
      const pc = c.at(c.empty([chunk * g.ow * kkc]));
      const sum = q0 === 0 ? po : c.at(c.empty([kkc * co]));
      const pp = last - q0 > 1 ? c.at(c.empty([kkc * co])) : 0;
      const plan: ModuleCall[] = [];
      for (let q = q0; q < last; q++) {
        const r0 = q * chunk;
        const n = Math.min(chunk, rows - r0);
        plan.push(...im2colCalls('im2col', px, pc, g, r0, n), gemmCall(...operands(pc, pdy + 4 * r0 * g.ow * co, q === q0 ? sum : pp, n), true, false));
        if (q > q0) plan.push(['im2col.add', [sum, pp, kkc * co]]);
      }
      plans.push(plan);
      sums.push(sum);
    }
    runPlans(simd.heap, plans, simd.local);
    for (const sum of sums.slice(1)) simd.cols.add(po, sum, kkc * co);
  }
  return c.done(swap ? c.run('Reshape', { x: c.run('Transpose', { x: acc }, { perm: [1, 0] }) }, { shape }) : acc);
}

// dcols[P, KH·KW·Cin] = dY[P, Cout] · Wᵀ (W as stored, [KH·KW·Cin, Cout], is the dot form's Bᵀ),
// then dx = col2im(dcols), chunk by chunk of output rows. For Cout < DOT_MIN_K the dot form is
// mostly horizontal sums: Wᵀ is copied (Cout·KH·KW·Cin values, small) for the outer form instead.
function inputGradIm2col(simd: ConvSimd, backend: unknown, dy: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info {
  const g = geometryOf(info);
  const [kkc, co, rows] = [g.kh * g.kw * g.c, info.outChannels, info.batchSize * g.oh];
  const c = new Composer(backend as never);
  const out = c.empty([info.batchSize, g.h, g.w, g.c]);
  const size = prod(out.shape);
  if (size === 0) return c.done(out);
  const products = rows * g.ow * kkc * co > 0; // none: dx is zeros (and an empty operand has no memory)
  let [pw, tb] = [products ? c.at(filter) : 0, true];
  if (products && co < DOT_MIN_K) {
    const wt = c.run('Transpose', { x: c.run('Reshape', { x: filter }, { shape: [kkc, co] }) }, { perm: [1, 0] });
    [pw, tb] = [c.at(wt), false];
  }
  const chunk = Math.min(rows, chunkRows(g));
  const [po, pdy] = [c.at(out), products ? c.at(dy) : 0];
  new Float32Array(wasmHeap(backend)!.buffer, po, size).fill(0); // (the buffer as of the last allocation)
  if (products) {
    const pool = kernelPoolFor(simd.heap);
    if (pool && pool.threads > 1 && info.batchSize > 1) {
      // Images write disjoint parts of dx: each thread takes a run of images, chunk by chunk of its
      // rows (product into its own dcols, then col2im). Every row of dcols is the same whatever the
      // chunking, and each image's rows are added in order, so the bits are those of one thread.
      const runs = splitRows(info.batchSize, pool.threads, 1, 1);
      const plans = runs.map(([b0, images]) => {
        const pd = c.at(c.empty([chunk * g.ow * kkc]));
        const plan: ModuleCall[] = [];
        for (let r0 = b0 * g.oh; r0 < (b0 + images) * g.oh; r0 += chunk) {
          const m = Math.min(chunk, (b0 + images) * g.oh - r0);
          plan.push(gemmCall(pdy + 4 * r0 * g.ow * co, pw, pd, m * g.ow, kkc, co, false, tb), ...im2colCalls('col2im', po, pd, g, r0, m));
        }
        return plan;
      });
      runPlans(simd.heap, plans, simd.local);
    } else {
      const pd = c.at(c.empty([chunk * g.ow * kkc]));
      for (let r0 = 0; r0 < rows; r0 += chunk) {
        const n = Math.min(chunk, rows - r0);
        simd.gemm(pdy + 4 * r0 * g.ow * co, pw, pd, n * g.ow, kkc, co, false, tb);
        simd.cols.col2im(pd, po, g, r0, n);
      }
    }
  }
  return c.done(out);
}

// out[s] = sum_{i: ids[i] = s} x[i] = oneHot(ids)^T @ x (negative ids give all-zero rows, dropped
// as in TF). O(numSegments * n * inner): fine for gather gradients of small tables.
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, segmentIds } = inputs as { x: Info; segmentIds: Info };
  const { numSegments } = attrs as { numSegments: number };
  const c = new Composer(backend as never);
  const n = segmentIds.shape.reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(segmentIds.shape.length);
  const innerSize = inner.reduce((p, d) => p * d, 1);
  const ids = c.run('Reshape', { x: segmentIds }, { shape: [n] });
  // wasm's OneHot writes int32 whatever dtype is asked for (float32 gives denormal garbage): cast.
  const hotInt = c.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
  const hot = c.run('Cast', { x: hotInt }, { dtype: 'float32' });
  const xf = x.dtype === 'float32' ? x : c.run('Cast', { x }, { dtype: 'float32' });
  const x3 = c.run('Reshape', { x: xf }, { shape: [1, n, innerSize] });
  const hot3 = c.run('Reshape', { x: hot }, { shape: [1, n, numSegments] });
  const mm = c.run('BatchMatMul', { a: hot3, b: x3 }, { transposeA: true, transposeB: false });
  let out = c.run('Reshape', { x: mm }, { shape: [numSegments, ...inner] });
  if (x.dtype !== 'float32') out = c.run('Cast', { x: out }, { dtype: x.dtype });
  return c.done(out);
}

// broadcastTo = reshape to the target rank, then tile.
function broadcastTo({ inputs, backend, attrs }: KernelArgs): Info {
  const c = new Composer(backend as never);
  return c.done(c.broadcastTo((inputs as { x: Info }).x, (attrs as { shape: number[] }).shape));
}

// logSoftmax(x) = (x - max) - log(sum(exp(x - max))). Only graph models call this kernel:
// tf.logSoftmax is a customGrad composite.
function logSoftmax({ inputs, backend, attrs }: KernelArgs): Info {
  const { logits } = inputs as { logits: Info };
  const { axis } = attrs as { axis: number };
  const c = new Composer(backend as never);
  const ax = axis < 0 ? axis + logits.shape.length : axis;
  const m = c.run('Max', { x: logits }, { reductionIndices: [ax], keepDims: true });
  const shifted = c.run('Sub', { a: logits, b: m });
  const e = c.run('Exp', { x: shifted });
  const s = c.run('Sum', { x: e }, { axis: [ax], keepDims: true });
  const l = c.run('Log', { x: s });
  return c.done(c.run('Sub', { a: shifted, b: l }));
}

// ---- Replacements of stock wasm kernels ----------------------------------------------------------


// BatchMatMul: wasm uses XNNPACK only when neither operand is transposed and both batch sizes are 1
// (batch_mat_mul_impl.cc); otherwise a scalar strided triple loop. Every matMul gradient is
// transposed (dA = dy·Bᵀ, dB = Aᵀ·dy). Float32 products run core's SIMD kernel in the heap
// (wasm-simd-gemm.ts: no copies, except one operand of Aᵀ·Bᵀ) unless XNNPACK wins (xnnpackPays).
// The fallback, where the engine lacks wasm SIMD or wasmKernelTuning.simdMatMul is off: materialise
// transposes with the Transpose kernel, and fold a batched A against an unbatched B into one
// [batch·M, K] @ [K, N] product on XNNPACK.
function batchMatMul({ inputs, backend, attrs }: KernelArgs): Info {
  const { a, b } = inputs as { a: Info; b: Info };
  const at = attrs as { transposeA: boolean; transposeB: boolean };
  const gemm = wasmKernelTuning.simdMatMul && a.dtype === 'float32' && b.dtype === 'float32' ? simdGemmFor(backend) : undefined;
  if (gemm && !xnnpackPays(a, b, at)) return simdProduct(gemm, backend, a, b, at);
  const c = new Composer(backend as never);
  const swap = wasmKernelTuning.matMulSwap;
  if (a.shape.length === 2 && b.shape.length === 2 && swap !== 'never' && (swap === 'always' || swapPays(a.shape, b.shape, at))) {
    // C = (Bᵀ·Aᵀ)ᵀ, so the big operand is read in place (see swapPays).
    const ct = product(c, b, a, { ...at, transposeA: !at.transposeB, transposeB: !at.transposeA });
    return c.done(c.run('Transpose', { x: ct }, { perm: [1, 0] }));
  }
  return c.done(product(c, a, b, at));
}

/** x with its last two dims swapped (a copy, by the Transpose kernel). */
function swapLast(c: Composer, x: Info): Info {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2));
  return c.run('Transpose', { x }, { perm });
}

/** A·B (transposed as `at` says) with core's SIMD kernel, batch by batch (broadcast as tfjs does). */
function simdProduct(gemm: GemmFn, backend: unknown, a: Info, b: Info, at: { transposeA: boolean; transposeB: boolean }): Info {
  const c = new Composer(backend as never);
  let [ta, tb] = [at.transposeA, at.transposeB];
  // The kernel has no Aᵀ·Bᵀ form: copy the smaller operand the right way round. A·Bᵀ with a short
  // k is mostly the dot form's horizontal sums: copy B (k·n values) instead.
  if (ta && tb && prod(a.shape) <= prod(b.shape)) [a, ta] = [swapLast(c, a), false];
  else if (tb && (ta || b.shape[b.shape.length - 1]! < DOT_MIN_K)) [b, tb] = [swapLast(c, b), false];
  [a, b] = broadcastMatMulBatches(c, a, b);
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [m, k] = ta ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const kb = tb ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  if (k !== kb) throw new Error(`BatchMatMul: inner dimensions differ (${k} and ${kb}) for shapes [${a.shape}] and [${b.shape}] with transposeA=${at.transposeA}, transposeB=${at.transposeB}`);
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const [batchA, batchB, batch] = [prod(a.shape.slice(0, -2)), prod(b.shape.slice(0, -2)), prod(batchShape)];
  const out = c.empty([...batchShape, m, n]);
  if (m * n * batch > 0) {
    const at0 = (x: Info) => (k > 0 ? c.at(x) : 0); // an empty operand has no memory
    const [pa, pb, pc] = [at0(a), at0(b), c.at(out)];
    // A batched A against one B, A not transposed: one product of batch·M rows.
    if (batchB === 1 && !ta) gemm(pa, pb, pc, batchA * m, n, k, false, tb);
    else for (let i = 0; i < batch; i++) gemm(pa + 4 * m * k * (i % batchA), pb + 4 * k * n * (i % batchB), pc + 4 * m * n * i, m, n, k, ta, tb);
  }
  return c.done(out);
}

const DOT_MIN_K = 8;

// Which kernel, measured on the 2-core bench machine (loaded, load average 5–7; ms per call, median,
// including tf.matMul's overhead and reading the result back; "fresh B": XNNPACK with a B it has
// not packed yet, "same B": packed before):
//   product                               SIMD   XNNPACK fresh B   same B
//   [256,200]·[200,200]   (MLP forward)   1.1–1.6   2.8            1.5–1.6
//   [256,200]·[200,200]ᵀ  (dA)            1.4       1.9–6.1        2.2–6.1
//   [200,256]ᵀ·[256,200]  (dW)            1.3–1.4   2.3–3.3        1.4–4.4
//   [2,256]ᵀ·[256,200]                    0.09–0.16 1.1–1.2        0.10
//   [256,200]ᵀ·[256,2], ·[200,2], …       0.03–0.1  0.08–0.15      0.07–0.12
//   [4,1024]·[1024,1024]  (SVG forward)   1.0       49–51          0.58–0.63
//   [4,1024]·[1024,1024]ᵀ                 0.74–0.95 1.2–1.5        1.0–1.7
//   [1024,4]ᵀ·[4,1024]                    4.7–5.7   8.2–9.2        2.2–6.3
//   [4,16384]·[16384,64]  (CNN dense)     0.84–1.5  24–35          0.41–0.76
//   [4,64]·[16384,64]ᵀ                    0.6–0.8   1.4–1.8        1.4–2.1
//   [16384,4]ᵀ·[4,64]                     3.9–6.1   4.5–17         9.2–10.9
//   [16,1024]·[1024,1024]                 6.8       34             6.6
//   [64,1024]·[1024,1024]                 17        39             8.7
// XNNPACK's packing of B costs 25–50 ns per value (50 ms for 1024×1024), so the SIMD kernel wins
// wherever B is new, which is most calls of a meta-step (gradients, transposed operands, weights
// updated every step), and on MLP-sized B even when B was packed before. XNNPACK's cached operator
// wins only for a big B (≥ 1 MB, where the SIMD kernel reads B from memory on every call, about
// 2× slower) used many times: there, once B has met XNNPACK_PACK_ROWS rows of A, it goes to
// XNNPACK, which packs it once and keeps it until B is disposed. Packing [16384, 64] costs what
// ~300 rows of A save against the SIMD kernel (24–35 ms against 0.1 ms a row), so the threshold is
// well past that: a B that dies soon after costs at most ~1/4 more. XNNPACK sums k in order with
// separate multiplies and adds, as the SIMD kernel's A·B does, so the products keep their bits.
const XNNPACK_MIN_B = 1 << 18;
const XNNPACK_PACK_ROWS = 1024;
/** Rows of A each big plain right operand B (by data id) has been multiplied with so far. */
const rowsPerB = new WeakMap<object, number>();

/** Whether XNNPACK's operator cache beats the SIMD kernel on this call (see above). */
function xnnpackPays(a: Info, b: Info, at: { transposeA: boolean; transposeB: boolean }): boolean {
  const [k, n] = b.shape.slice(-2) as [number, number];
  if (at.transposeA || at.transposeB || b.shape.length !== 2 || k * n < XNNPACK_MIN_B) return false;
  const seen = rowsPerB.get(b.dataId) ?? 0;
  rowsPerB.set(b.dataId, seen + prod(a.shape.slice(0, -1)));
  return seen >= XNNPACK_PACK_ROWS;
}

/** A·B (transposed as `at` says) on XNNPACK's path: plain operands, unbatched right operand. */
function product(c: Composer, a: Info, b: Info, at: { transposeA: boolean; transposeB: boolean }): Info {
  if (at.transposeA) a = swapLast(c, a);
  if (at.transposeB) b = swapLast(c, b);
  const plain = { ...at, transposeA: false, transposeB: false };
  [a, b] = broadcastMatMulBatches(c, a, b);
  const batchA = prod(a.shape.slice(0, -2));
  const batchB = prod(b.shape.slice(0, -2));
  if (batchB === 1 && batchA > 1) {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.shape.length - 1]!;
    const a2 = c.run('Reshape', { x: a }, { shape: [batchA * m, k] });
    const b2 = c.run('Reshape', { x: b }, { shape: [k, n] });
    const o = c.orig('BatchMatMul', { a: a2, b: b2 }, plain);
    // Reshape shares o's buffer (adds a reference), so disposing o leaves the data to the result.
    return c.run('Reshape', { x: o }, { shape: [...a.shape.slice(0, -2), m, n] });
  }
  return c.orig('BatchMatMul', { a, b }, plain);
}

/**
 * Whether a 2-D product is cheaper as C = (Bᵀ·Aᵀ)ᵀ. XNNPACK packs (copies) the right operand on
 * every call, and a transposed operand is first copied by wasm's Transpose, which costs about 3×
 * a packed value (measured: dy[256,200]ᵀ·dy'[256,2] 0.27 ms as is, 0.10 ms swapped); C's own
 * transpose is one more such copy. The swap wins where a big operand would be transposed against
 * a small one: dx = dy·Wᵀ of a wide dense layer (dy [4, 64], W [16384, 64]) takes 1.9 ms instead
 * of 19.6 ms. The products are the same sums, in the same order along k.
 */
function swapPays(sa: number[], sb: number[], at: { transposeA: boolean; transposeB: boolean }): boolean {
  const [m, k] = at.transposeA ? [sa[1]!, sa[0]!] : [sa[0]!, sa[1]!];
  const n = at.transposeB ? sb[0]! : sb[1]!;
  const T = 3; // a transposed value, in packed values
  // As is: A and B transposed where asked, B (k·n) packed.
  const direct = (at.transposeA ? T * m * k : 0) + (at.transposeB ? T * k * n : 0) + k * n;
  // Swapped: Bᵀ is the left operand (a copy unless B is stored transposed), Aᵀ the packed right
  // one (a copy first unless A is stored transposed), then C's transpose.
  const swapped = (at.transposeB ? 0 : T * k * n) + (at.transposeA ? 0 : T * m * k) + m * k + T * m * n;
  return 1.5 * swapped < direct; // clear wins only: it is one more kernel call
}

// Conv2DBackpropInput: wasm runs a scalar 7-deep loop (kernels/Conv2DBackpropInput.cc). Float32 runs
// as the SIMD GEMM + col2im (inputGradIm2col) where im2colPays; otherwise (and without SIMD) dx is a
// stride-1 correlation of the stride-dilated dy with the spatially flipped filter, in/out channels
// swapped, padded by (k − 1 − pad_before): one XNNPACK Conv2D. Dilation = reshape, zero PadV2, reshape.
// Flipping the filter (wasm's Reverse, per element) costs about as much as the whole stock kernel
// does per dy position, so for a spatially tiny dy (the deep layers of a DCGAN decoder: dy
// [4,1,1,128] with a [4,4,512,128] filter took 140 ms against 14 ms stock; [4,4,4,1024] 2.0 s against
// 0.6 s) the stock kernel wins; from [4,8,8,512] (256 positions, 0.35 s against 0.72 s) on, this one.

/** Tuning of core's wasm kernels (tests lower the threshold to exercise the replacement on tiny shapes). */
export const wasmKernelTuning = {
  /** 2-D BatchMatMul as C = (Bᵀ·Aᵀ)ᵀ: 'auto' where it copies far fewer values (swapPays). */
  matMulSwap: 'auto' as 'auto' | 'never' | 'always',
  /** Conv2DBackpropInput uses the stock kernel when dy has fewer batch × spatial positions. */
  conv2dBackpropInputMinPositions: 128,
  /** Concat takes the transposed path from this many rows (product of the dims before the axis)… */
  concatMinRows: 1024,
  /** …when no input has more than this many values per row. */
  concatMaxInner: 8,
  /** Float32 Tanh runs the SIMD kernel where the engine can (false: the XNNPACK composition). */
  simdTanh: true,
  /** Float32 BatchMatMul runs the SIMD kernel where the engine can, unless XNNPACK pays (false: never). */
  simdMatMul: true,
  /** Float32 Conv2DBackpropFilter/Input run as im2col/col2im + the SIMD kernel where they pay (false: never; needs simdMatMul). */
  simdConvGrad: true,
  /** Float32 NHWC dilation-1 Conv2D runs as im2col + the SIMD kernel, split by chunks of output rows over a kernel pool's threads (false: XNNPACK). */
  simdConv2D: true,
  /** Float32 Max over middle axes (one or two runs, not the last axis; e.g. the 2×2 max-pool's) runs core's native kernel (false: the stock transpose + reduce). */
  simdMax: true,
  /** Scratch (cols, dcols) of those, in floats (16 MB): the batch is done in chunks of output rows that fit. */
  convScratchFloats: 1 << 22,
};

/**
 * dy dilated by the stride, with the padding (k − 1 − pad_before, ...) under which a stride-1
 * correlation with the flipped filter gives the input gradient; undefined where that padding would
 * be negative beyond what a crop of the dilated dy covers.
 */
function strideDilated(c: Composer, dy: Info, info: tf.backend_util.Conv2DInfo): { d: Info; pad: number[][] } | undefined {
  const { strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const [n, , , co] = dy.shape as [number, number, number, number];
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  // The dilated dy is oh·sh rows (its last sh − 1 rows zeros); negative padding = rows to cut.
  const bottom = h - oh * sh - top + kh - 1;
  const right = w - ow * sw - left + kw - 1;
  if (top < 0 || left < 0 || bottom < -(sh - 1) || right < -(sw - 1)) return undefined;
  let d = dy;
  if (sh > 1 || sw > 1) {
    const r6 = c.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
    const p6 = c.run('PadV2', { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    d = c.run('Reshape', { x: p6 }, { shape: [n, oh * sh, ow * sw, co] });
    if (bottom < 0 || right < 0) {
      d = c.run('Slice', { x: d }, { begin: [0, 0, 0, 0], size: [n, oh * sh + Math.min(0, bottom), ow * sw + Math.min(0, right), co] });
    }
  }
  return { d, pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]] };
}

/** Per window position (`windows` of an all-ones image of `shape`): 0 inside the image, far below
 * any value outside it, so a padded position never wins a window's maximum. */
function outsidePenalty(c: Composer, windows: (x: Info) => Info, shape: number[]): Info {
  const inImage = windows(c.tensor(new Float32Array(prod(shape)).fill(1), shape));
  return c.run('Multiply', { a: c.run('Sub', { a: inImage, b: c.scalar(1) }), b: c.scalar(1e30) });
}

// Conv3D backprops: tfjs-backend-wasm 4.22's are wrong (the input one for every shape tried, the
// filter one with stride 2), so tf.conv3d trained wrongly on wasm. Composed from its Conv3D, which
// is right, as the 2-D ones are: the input gradient correlates the stride-dilated, padded dy with
// the flipped filter; the filter gradient is a conv of x (channels as batch, batch as channels)
// with dy as the filter, dilated by the stride.
type Conv3DAttrs = { strides: number | [number, number, number]; pad: 'valid' | 'same'; inputShape?: number[]; filterShape?: number[] };
const conv3DInfo = (xShape: number[], wShape: number[], a: Conv3DAttrs) =>
  tf.backend_util.computeConv3DInfo(xShape as [number, number, number, number, number], wShape as [number, number, number, number, number], a.strides, 1, a.pad);

function conv3DBackpropInput({ inputs, backend, attrs }: KernelArgs): Info {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as Conv3DAttrs;
  const info = conv3DInfo(a.inputShape!, filter.shape, a);
  const [n, od, oh, ow, co] = dy.shape as number[] as [number, number, number, number, number];
  const s = [info.strideDepth, info.strideHeight, info.strideWidth];
  const k = [info.filterDepth, info.filterHeight, info.filterWidth];
  const inSize = [info.inDepth, info.inHeight, info.inWidth];
  const before = [k[0]! - 1 - info.padInfo.front, k[1]! - 1 - info.padInfo.top, k[2]! - 1 - info.padInfo.left];
  const c = new Composer(backend as never);
  // Dilate one axis at a time (rank ≤ 5 throughout).
  let d = dy;
  const dims = [od, oh, ow];
  for (let ax = 0; ax < 3; ax++) {
    if (s[ax] === 1) continue;
    const outer = n * dims.slice(0, ax).reduce((p, q) => p * q, 1);
    const inner = dims.slice(ax + 1).reduce((p, q) => p * q, 1) * co;
    const r = c.run('Reshape', { x: d }, { shape: [outer, dims[ax]!, 1, inner] });
    const pd = c.run('PadV2', { x: r }, { paddings: [[0, 0], [0, 0], [0, s[ax]! - 1], [0, 0]], constantValue: 0 });
    dims[ax] = dims[ax]! * s[ax]!;
    d = c.run('Reshape', { x: pd }, { shape: [n, ...dims, co] });
  }
  // Padding after: negative means the dilated dy's trailing zero rows are cut.
  const after = [0, 1, 2].map((ax) => inSize[ax]! - dims[ax]! - before[ax]! + k[ax]! - 1);
  if (after.some((v) => v < 0)) d = c.run('Slice', { x: d }, { begin: [0, 0, 0, 0, 0], size: [n, ...dims.map((v, ax) => v + Math.min(0, after[ax]!)), co] });
  d = c.run('PadV2', { x: d }, { paddings: [[0, 0], ...[0, 1, 2].map((ax) => [before[ax]!, Math.max(0, after[ax]!)]), [0, 0]], constantValue: 0 });
  const w = c.run('Transpose', { x: c.run('Reverse', { x: filter }, { dims: [0, 1, 2] }) }, { perm: [0, 1, 2, 4, 3] });
  return c.done(c.run('Conv3D', { x: d, filter: w }, { strides: [1, 1, 1], pad: 'valid', dilations: [1, 1, 1] }));
}

function conv3DBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as Conv3DAttrs;
  const info = conv3DInfo(x.shape, a.filterShape!, a);
  const [, od, oh, ow] = dy.shape as number[];
  const s = [info.strideDepth, info.strideHeight, info.strideWidth];
  const k = [info.filterDepth, info.filterHeight, info.filterWidth];
  const inSize = [info.inDepth, info.inHeight, info.inWidth];
  const before = [info.padInfo.front, info.padInfo.top, info.padInfo.left];
  const out = [od!, oh!, ow!];
  // Pad x so that a valid conv with the dilated dy ((o − 1)·s + 1 taps) yields exactly k outputs.
  const after = [0, 1, 2].map((ax) => k[ax]! - inSize[ax]! - before[ax]! + (out[ax]! - 1) * s[ax]!);
  const c = new Composer(backend as never);
  let xp = x;
  if (after.some((v) => v < 0)) xp = c.run('Slice', { x: xp }, { begin: [0, 0, 0, 0, 0], size: [x.shape[0]!, ...inSize.map((v, ax) => v + Math.min(0, after[ax]!)), x.shape[4]!] });
  xp = c.run('PadV2', { x: xp }, { paddings: [[0, 0], ...[0, 1, 2].map((ax) => [before[ax]!, Math.max(0, after[ax]!)]), [0, 0]], constantValue: 0 });
  const xt = c.run('Transpose', { x: xp }, { perm: [4, 1, 2, 3, 0] });
  const f = c.run('Transpose', { x: dy }, { perm: [1, 2, 3, 0, 4] });
  const o = c.run('Conv3D', { x: xt, filter: f }, { strides: [1, 1, 1], pad: 'valid', dilations: s });
  return c.done(c.run('Transpose', { x: o }, { perm: [1, 2, 3, 0, 4] }));
}

// Conv2D and DepthwiseConv2dNative with 'same' padding: when the window and stride overshoot
// nothing ((out − 1)·stride + filter < in, e.g. a 1×2 filter at stride 3 on 6 columns) TensorFlow's
// padding is 0, but the stock wasm kernels (XNNPACK's own 'same' mode) return wrong values (zeros).
// Passing tfjs's own padding explicitly is the same convolution by definition, and right.
function explicitSame(name: 'Conv2D' | 'DepthwiseConv2dNative'): KernelFunc {
  return (args) => {
    const a = args.attrs as { pad: unknown; strides: number | [number, number]; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string };
    const stock = ORIGINALS.get(name)!;
    if (a.pad !== 'same' || (a.dataFormat && a.dataFormat !== 'NHWC')) return stock(args);
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, a.dilations ?? 1, 'same', a.dimRoundingMode, name !== 'Conv2D',
    );
    const { top, bottom, left, right } = info.padInfo;
    return stock({ ...args, attrs: { ...a, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] } });
  };
}

// Max over middle axes as one native pass (wasm-simd-reduce-max.ts), split by its leading rows
// over a kernel pool's threads; the last axis, or reductions in more runs, stay stock.
function max(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: Info };
  const a = attrs as { reductionIndices: number | number[]; keepDims: boolean };
  const stock = () => ORIGINALS.get('Max')!(args);
  if (!wasmKernelTuning.simdMax || x.dtype !== 'float32' || prod(x.shape) === 0) return stock();
  const axes = tf.util.parseAxisParam(a.reductionIndices, x.shape);
  const form = maxForm(x.shape, axes);
  const heap = form && wasmHeap(backend);
  const exec = heap && kernelCalls(heap);
  if (!form || !heap || !exec) return stock();
  const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (a.keepDims ? [1] : []) : [d]));
  const c = new Composer(backend as never);
  const out = c.empty(shape);
  const calls = reduceMaxCalls(c.at(x), c.at(out), form, kernelPoolFor(heap)?.threads ?? 1);
  runPlans(heap, calls.map((call) => [call]), exec);
  return c.done(out);
}

const sameConv2D = explicitSame('Conv2D');

// Conv2D as im2col + the SIMD product, y[P, Cout] = cols[P, KH·KW·Cin] · W[KH·KW·Cin, Cout], chunk by
// chunk of output rows. Chunks write disjoint rows of y: where a kernel pool runs, each thread takes
// a run of chunks. Each chunk's product is the same call whoever runs it, so the bits do not depend
// on the thread count (they may differ from XNNPACK's in the last bits: another summation order).
function conv2D(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs as { x: Info; filter: Info };
  const a = attrs as { pad: unknown; strides: number | [number, number]; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string };
  if (!wasmKernelTuning.simdConv2D || (a.dataFormat && a.dataFormat !== 'NHWC')) return sameConv2D(args);
  const simd = simdConvGrad(backend, x, filter);
  if (!simd) return sameConv2D(args);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad as 'same', a.dimRoundingMode,
  );
  if (info.dilationHeight > 1 || info.dilationWidth > 1) return sameConv2D(args);
  const g = geometryOf(info);
  const [kkc, co, rows] = [g.kh * g.kw * g.c, info.outChannels, info.batchSize * g.oh];
  const c = new Composer(backend as never);
  const out = c.empty([info.batchSize, g.oh, g.ow, co]);
  const size = prod(out.shape);
  if (size === 0) return c.done(out);
  const py = c.at(out);
  if (kkc === 0) {
    new Float32Array(simd.heap.buffer, py, size).fill(0);
    return c.done(out);
  }
  const [px, pw] = [c.at(x), c.at(filter)];
  const chunk = Math.min(rows, chunkRows(g));
  const chunks = Math.ceil(rows / chunk);
  const threads = Math.min(chunks, kernelPoolFor(simd.heap)?.threads ?? 1);
  if (chunks === 1 || threads === 1) {
    // One thread, chunk after chunk (a single chunk's product split by rows where a pool runs).
    const pc = c.at(c.empty([chunk * g.ow * kkc]));
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const n = Math.min(chunk, rows - r0);
      simd.cols.im2col(px, pc, g, r0, n);
      simd.gemm(pc, pw, py + 4 * r0 * g.ow * co, n * g.ow, co, kkc, false, false);
    }
    return c.done(out);
  }
  const plans: ModuleCall[][] = [];
  for (const [q0, count] of splitRows(chunks, threads, 1, 1)) {
    const pc = c.at(c.empty([chunk * g.ow * kkc]));
    const plan: ModuleCall[] = [];
    for (let q = q0; q < q0 + count; q++) {
      const [r0, n] = [q * chunk, Math.min(chunk, rows - q * chunk)];
      plan.push(...im2colCalls('im2col', px, pc, g, r0, n), gemmCall(pc, pw, py + 4 * r0 * g.ow * co, n * g.ow, co, kkc, false, false));
    }
    plans.push(plan);
  }
  runPlans(simd.heap, plans, simd.local);
  return c.done(out);
}

// MaxPool3D: the stock wasm kernel returns wrong maxima with 'same' padding (2×2×2 windows at
// stride 1), and 1.2e-38 (FLT_MIN) for every window whose maximum is ≤ 0. Composed: windows
// gathered by a Conv3D with a one-hot filter (channels folded into the batch), out-of-image
// positions pushed below any value, Max.
function maxPool3D(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: Info };
  const a = attrs as { filterSize: number | [number, number, number]; strides: number | [number, number, number]; pad: unknown };
  if ((a.pad !== 'same' && a.pad !== 'valid') || x.dtype !== 'float32') return ORIGINALS.get('MaxPool3D')!(args);
  const [fd, fh, fw] = typeof a.filterSize === 'number' ? [a.filterSize, a.filterSize, a.filterSize] : a.filterSize;
  const [n, d, h, w, ch] = x.shape as [number, number, number, number, number];
  const c = new Composer(backend as never);
  const eye = c.windowFilter([fd, fh, fw]);
  const conv = { strides: a.strides, pad: a.pad, dilations: [1, 1, 1] };
  const folded = c.run('Reshape', { x: c.run('Transpose', { x }, { perm: [0, 4, 1, 2, 3] }) }, { shape: [n * ch, d, h, w, 1] });
  const windows = (t: Info) => c.run('Conv3D', { x: t, filter: eye }, conv);
  const p = c.run('Add', { a: windows(folded), b: outsidePenalty(c, windows, [1, d, h, w, 1]) });
  const m = c.run('Max', { x: p }, { reductionIndices: [4], keepDims: false });
  const [, od, oh, ow] = m.shape as number[];
  return c.done(c.run('Transpose', { x: c.run('Reshape', { x: m }, { shape: [n, ch, od!, oh!, ow!] }) }, { perm: [0, 2, 3, 4, 1] }));
}

// Dilation2D: the stock wasm kernel returns wrong values ('same' padding, and some strided 'valid').
// Composed as the morphology it is: windows gathered by a Conv2D with a one-hot filter (channels
// folded into the batch), out-of-image positions pushed below any value, plus the filter, Max.
function dilation2D(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs as { x: Info; filter: Info };
  const a = attrs as { strides: number | [number, number]; pad: unknown; dilations: number | [number, number] };
  if ((a.pad !== 'same' && a.pad !== 'valid') || x.dtype !== 'float32') return ORIGINALS.get('Dilation2D')!(args);
  const [n, h, w, ch] = x.shape as [number, number, number, number];
  const [fh, fw] = filter.shape as [number, number, number];
  const k = fh * fw;
  const c = new Composer(backend as never);
  const eye = c.windowFilter([fh, fw]);
  const conv = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: a.dilations };
  const folded = c.run('Reshape', { x: c.run('Transpose', { x }, { perm: [0, 3, 1, 2] }) }, { shape: [n * ch, h, w, 1] });
  const windows = (t: Info) => c.run('Conv2D', { x: t, filter: eye }, conv);
  const win = windows(folded);
  const [, oh, ow] = win.shape as number[];
  const penalty = c.run('Reshape', { x: outsidePenalty(c, windows, [1, h, w, 1]) }, { shape: [1, 1, oh!, ow!, k] });
  const perOffset = c.run('Reshape', { x: c.run('Transpose', { x: c.run('Reshape', { x: filter }, { shape: [k, ch] }) }, { perm: [1, 0] }) }, { shape: [1, ch, 1, 1, k] });
  const scores = c.run('Add', { a: c.run('Add', { a: c.run('Reshape', { x: win }, { shape: [n, ch, oh!, ow!, k] }), b: penalty }), b: perOffset });
  const m = c.run('Max', { x: scores }, { reductionIndices: [4], keepDims: false });
  return c.done(c.run('Transpose', { x: m }, { perm: [0, 2, 3, 1] }));
}

// DepthwiseConv2dNativeBackpropFilter (none in tfjs-backend-wasm 4.22):
// dW[i, j, c, m] = Σ_{n, oh, ow} x[n, oh·sh + i − pt, ow·sw + j − pl, c] · dy[n, oh, ow, c·cm + m],
// one depthwise conv with (n, c, m) as channels: x (repeated cm times) as the image, dy as the
// [oh, ow] filter dilated by the stride, padded so that the output is kh × kw; then sum over n.
function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as { strides: number | [number, number]; pad: 'valid' | 'same' | number; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
  const [kh, kw, ci, cm] = a.filterShape;
  const [n, h, w] = x.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad as 'same', a.dimRoundingMode, true);
  if (info.dilationHeight > 1 || info.dilationWidth > 1) throw new Error('DepthwiseConv2dNativeBackpropFilter on wasm: dilation > 1 is not supported');
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const bottom = kh - h - top + (oh - 1) * sh;
  const right = kw - w - left + (ow - 1) * sw;
  const c = new Composer(backend as never);
  let img = c.run('Reshape', { x }, { shape: [n, h, w, ci, 1] });
  if (cm > 1) img = c.run('Tile', { x: img }, { reps: [1, 1, 1, 1, cm] });
  img = c.run('Reshape', { x: c.run('Transpose', { x: img }, { perm: [1, 2, 0, 3, 4] }) }, { shape: [1, h, w, n * ci * cm] });
  if (bottom < 0 || right < 0) img = c.run('Slice', { x: img }, { begin: [0, 0, 0, 0], size: [1, h + Math.min(0, bottom), w + Math.min(0, right), n * ci * cm] });
  const f = c.run('Reshape', { x: c.run('Transpose', { x: c.run('Reshape', { x: dy }, { shape: [n, oh, ow, ci, cm] }) }, { perm: [1, 2, 0, 3, 4] }) }, { shape: [oh, ow, n * ci * cm, 1] });
  const pad = [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]];
  const o = c.run('DepthwiseConv2dNative', { x: img, filter: f }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] });
  return c.done(c.run('Sum', { x: c.run('Reshape', { x: o }, { shape: [kh, kw, n, ci, cm] }) }, { axis: [2], keepDims: false }));
}

// DepthwiseConv2dNativeBackpropInput: tfjs-backend-wasm 4.22 has none, so tf.depthwiseConv2d could
// not train on wasm. Same construction as Conv2DBackpropInput below: a stride-1 depthwise conv of
// the stride-dilated dy (ci·cm channels) with the flipped filter, then the cm multiplier channels
// of each input channel summed.
function depthwiseBackpropInput({ inputs, backend, attrs }: KernelArgs): Info {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as { strides: number | [number, number]; pad: 'valid' | 'same' | number; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number] };
  const [kh, kw, ci, cm] = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, [kh, kw, ci, cm], a.strides, a.dilations ?? 1, a.pad as 'same', a.dimRoundingMode, true);
  if (info.dilationHeight > 1 || info.dilationWidth > 1) throw new Error('DepthwiseConv2dNativeBackpropInput on wasm: dilation > 1 is not supported');
  const c = new Composer(backend as never);
  const g = strideDilated(c, dy, info);
  if (!g) throw new Error(`DepthwiseConv2dNativeBackpropInput on wasm: padding ${JSON.stringify(a.pad)} is not supported for these shapes`);
  const flipped = c.run('Reshape', { x: c.run('Reverse', { x: filter }, { dims: [0, 1] }) }, { shape: [kh, kw, ci * cm, 1] });
  const e = c.run('DepthwiseConv2dNative', { x: g.d, filter: flipped }, { strides: [1, 1], pad: g.pad, dataFormat: 'NHWC', dilations: [1, 1] });
  const [n, h, w] = a.inputShape;
  return c.done(c.run('Sum', { x: c.run('Reshape', { x: e }, { shape: [n, h, w, ci, cm] }) }, { axis: [4], keepDims: false }));
}

function conv2DBackpropInput(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat?: string;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const stock = () => ORIGINALS.get('Conv2DBackpropInput')!(args);
  if ((a.dataFormat && a.dataFormat !== 'NHWC') || dy.dtype !== 'float32') return stock();
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad as 'same', a.dimRoundingMode,
  );
  const simd = simdConvGrad(backend, dy, filter);
  if (simd && im2colPays(info, 'input')) return inputGradIm2col(simd, backend, dy, filter, info);
  if (dy.shape[0]! * info.outHeight * info.outWidth < wasmKernelTuning.conv2dBackpropInputMinPositions) return stock();
  const c = new Composer(backend as never);
  const g = strideDilated(c, dy, info);
  if (!g) return stock();
  const flipped = c.run('Reverse', { x: filter }, { dims: [0, 1] });
  const wT = c.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  const { d, pad } = g;
  return c.done(c.run('Conv2D', { x: d, filter: wT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] }));
}

// MaxPoolGrad: the stock wasm kernel routes dy to the wrong input position in some windows (any
// stride and padding; tfjs 4.22), so tf.maxPool's gradient is wrong on wasm. Composed instead, as
// core's second-order MaxPoolGrad gradient: windows are gathered by a conv2d with a one-hot filter
// (channels folded into the batch), each window's first maximum (out-of-image positions never
// win) takes dy, and the adjoint conv (Conv2DBackpropInput) scatters the windows back.
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): Info {
  const { dy, input } = inputs as { dy: Info; input: Info };
  const a = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: string };
  const [n, h, w, ch] = input.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const [fh, fw] = typeof a.filterSize === 'number' ? [a.filterSize, a.filterSize] : a.filterSize;
  const c = new Composer(backend as never);
  const eye = c.windowFilter([fh, fw]);
  const conv = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: a.dimRoundingMode };
  const windows = (x: Info) => c.run('Conv2D', { x, filter: eye }, conv);
  const folded = (x: Info, rows: number, cols: number) =>
    c.run('Reshape', { x: c.run('Transpose', { x }, { perm: [0, 3, 1, 2] }) }, { shape: [n * ch, rows, cols, 1] });
  const p = c.run('Add', { a: windows(folded(input, h, w)), b: outsidePenalty(c, windows, [1, h, w, 1]) });
  const isMax = c.run('Cast', { x: c.run('Equal', { a: p, b: c.run('Max', { x: p }, { reductionIndices: [3], keepDims: true }) }) }, { dtype: 'float32' });
  const before = c.run('Cumsum', { x: isMax }, { axis: 3, exclusive: true, reverse: false });
  const first = c.run('Multiply', { a: isMax, b: c.run('Cast', { x: c.run('Equal', { a: before, b: c.scalar(0) }) }, { dtype: 'float32' }) });
  const cols = c.run('Multiply', { a: first, b: folded(dy, oh, ow) });
  const dx = c.run('Conv2DBackpropInput', { dy: cols, filter: eye }, { ...conv, inputShape: [n * ch, h, w, 1] });
  return c.done(c.run('Transpose', { x: c.run('Reshape', { x: dx }, { shape: [n, ch, h, w] }) }, { perm: [0, 2, 3, 1] }));
}

// Comparisons: wasm registers them without full broadcasting, and its generic broadcasting path is
// slow (~0.4 s for the [4,32,2,32,2,32] vs [4,32,1,32,1,32] Equal in the gradient of core's
// reshape+max max-pool, minMaxGrad). Broadcast both operands with the XNNPACK Add kernel first
// (x + 0 is exact, -0 aside, which compares equal), then compare equal shapes.
const COMPARISONS = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'] as const;

/** x == y where y is x reduced over one or two runs of middle axes with keepDims (Max's gradient
 * mask: maxForm's view), as one native pass (wasm-simd-reduce-max.ts); undefined for other shapes. */
function equalToReduced(backend: unknown, a: Info, b: Info): Info | undefined {
  if (!wasmKernelTuning.simdMax || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== b.shape.length) return undefined;
  const [x, y] = prod(a.shape) >= prod(b.shape) ? [a, b] : [b, a];
  if (y.shape.some((d, i) => d !== x.shape[i] && d !== 1)) return undefined;
  const axes = x.shape.flatMap((d, i) => (y.shape[i] === 1 && d !== 1 ? [i] : []));
  const form = axes.length ? maxForm(x.shape, axes) : undefined;
  const heap = form && wasmHeap(backend);
  const exec = heap && kernelCalls(heap);
  if (!form || !heap || !exec || prod(x.shape) === 0) return undefined;
  const c = new Composer(backend as never);
  const out = c.empty(x.shape, 'bool');
  const calls = equalMaxCalls(c.at(x), c.at(y), c.at(out), form, kernelPoolFor(heap)?.threads ?? 1);
  runPlans(heap, calls.map((call) => [call]), exec);
  return c.done(out);
}

function comparison(name: string): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as { a: Info; b: Info };
    const fast = name === 'Equal' ? equalToReduced(backend, a, b) : undefined;
    if (fast) return fast;
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (same || prod(a.shape) === 1 || prod(b.shape) === 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return ORIGINALS.get(name)!(args);
    }
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const c = new Composer(backend as never);
    const zeros = c.run('Fill', {}, { shape, value: 0, dtype: 'float32' });
    const full = (t: Info) => (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : c.run('Add', { a: t, b: zeros }));
    return c.done(c.orig(name, { a: full(a), b: full(b) }, attrs));
  };
}

// Binary kernels run on XNNPACK's N-d ops, which take at most 6 dimensions. tfjs-backend-wasm 4.22
// passes higher ranks anyway and silently returns wrong values (every element of x + 1 at rank 7).
// Rank 7+ arises from reshapes (a 2×2 pool of [B, T, H, W, C] video, the tile-gradient fix). Output
// dims of size 1 can be dropped, and neighbouring dims merged where each operand either spans both or
// broadcasts both; Reshape shares the buffer, so this is free. Whatever still has more than 6 dims
// (broadcast patterns alternating 6+ times) is tiled out to equal shapes, which merge to one dim.
const XNN_MAX_DIMS = 6;
const RANK_LIMITED = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Pow', 'SquaredDifference', 'Prelu'] as const;

/** a's and b's shapes, broadcast against each other, with the dims merged as above. */
export function mergeBroadcastDims(sa: readonly number[], sb: readonly number[]): { a: number[]; b: number[] } {
  const out = tf.backend_util.assertAndGetBroadcastShape(sa as number[], sb as number[]);
  const [pa, pb] = [padShape(sa, out.length), padShape(sb, out.length)];
  const a: number[] = [];
  const b: number[] = [];
  let last = '';
  out.forEach((d, i) => {
    if (d === 1) return;
    const key = `${pa[i] === 1}${pb[i] === 1}`;
    if (key === last) {
      a[a.length - 1]! *= pa[i]!;
      b[b.length - 1]! *= pb[i]!;
    } else {
      a.push(pa[i]!);
      b.push(pb[i]!);
      last = key;
    }
  });
  return a.length ? { a, b } : { a: [1], b: [1] };
}

/** Wraps a two-input kernel (stock, or `inner`) so that it never sees more than 6 dims. */
function rankSafe(name: string, inner?: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const [na, nb] = Object.keys(inputs) as [string, string];
    const [a, b] = [inputs[na]!, inputs[nb]!];
    const f = inner ?? ORIGINALS.get(name)!;
    if (Math.max(a.shape.length, b.shape.length) <= XNN_MAX_DIMS) return f(args);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape as number[], b.shape as number[]);
    const m = mergeBroadcastDims(a.shape, b.shape);
    const c = new Composer(backend as never);
    let [xa, xb] = [c.run('Reshape', { x: a }, { shape: m.a }), c.run('Reshape', { x: b }, { shape: m.b })];
    if (m.a.length > XNN_MAX_DIMS) {
      const full = m.a.map((d, i) => Math.max(d, m.b[i]!));
      const spread = (x: Info) => c.run('Reshape', { x: c.broadcastTo(x, full) }, { shape: [prod(full)] });
      [xa, xb] = [spread(xa), spread(xb)];
    }
    const y = c.call(f, { [na]: xa, [nb]: xb }, attrs);
    return c.done(c.run('Reshape', { x: y }, { shape: outShape }));
  };
}

// Tanh: wasm calls scalar libm tanh (kernels/Tanh.cc, ~14× slower than its XNNPACK Sigmoid).
// Float32 runs core's SIMD kernel in the wasm heap (wasm-simd-tanh.ts), one pass. Where the engine
// has no wasm SIMD, or wasmKernelTuning.simdTanh is off, a composition of XNNPACK kernels:
// tanh(x) = 2σ(2x) − 1 = σ(2x) − σ(−2x) is accurate to ~2e-7 absolute but loses relative accuracy near 0
// (cancellation), so near 0 it is blended with the Taylor series x − x³/3 + 2x⁵/15 (relative error
// < 2e-6 for |x| ≤ √2·c): y = big + w·(small − big), w = clip(2 − x²/c², 0, 1) (1 for |x| ≤ c, 0 for
// |x| ≥ √2·c, where 2σ(2x) − 1 is within 2e-6 relative). Only multiply/add/clip/sigmoid kernels, all
// XNNPACK or vectorised: comparisons and Select are slow on wasm.
const TANH_C = 0.125;
/** What the SIMD Tanh uses of tfjs-backend-wasm's WasmBackend beyond the kernel API. */
type WasmHeapBackend = { makeOutput(shape: number[], dtype: string): Info; getMemoryOffset(dataId: object): number };
function tanh(args: KernelArgs): Info {
  const { inputs, backend } = args;
  const { x } = inputs as { x: Info };
  if (x.dtype !== 'float32') return ORIGINALS.get('Tanh')!(args);
  const simd = wasmKernelTuning.simdTanh ? simdTanhFor(backend) : undefined;
  if (simd) {
    const b = backend as WasmHeapBackend;
    const out = b.makeOutput(x.shape, 'float32');
    const n = prod(x.shape);
    if (n > 0) simd(b.getMemoryOffset(x.dataId), b.getMemoryOffset(out.dataId), n);
    return out;
  }
  const c = new Composer(backend as never);
  const k = (v: number) => c.scalar(v);
  const two = k(2);
  // 2σ(2x) − 1 written as σ(2x) − σ(−2x): odd, so it saturates to exactly −1 as well as 1.
  const sig = (f: number) => c.run('Sigmoid', { x: c.run('Multiply', { a: x, b: k(f) }) });
  const big = c.run('Sub', { a: sig(2), b: sig(-2) });
  // The series only where w > 0: clipping keeps it finite (0·∞ would be NaN in the blend) while NaN
  // still reaches the output through `big`.
  const xs = c.run('ClipByValue', { x }, { clipValueMin: -2 * TANH_C, clipValueMax: 2 * TANH_C });
  const x2 = c.run('Square', { x: xs });
  // small = x + x·x²·(−1/3 + 2x²/15)
  const poly = c.run('Add', { a: c.run('Multiply', { a: x2, b: k(2 / 15) }), b: k(-1 / 3) });
  const small = c.run('Add', { a: xs, b: c.run('Multiply', { a: c.run('Multiply', { a: xs, b: x2 }), b: poly }) });
  const w = c.run('ClipByValue', { x: c.run('Add', { a: c.run('Multiply', { a: x2, b: k(-1 / (TANH_C * TANH_C)) }), b: two }) }, { clipValueMin: 0, clipValueMax: 1 });
  const blend = c.run('Multiply', { a: w, b: c.run('Sub', { a: small, b: big }) });
  return c.done(c.run('Add', { a: big, b: blend }));
}

/** Stock wasm kernels core replaces (see the comments above each replacement). */
// Identity: tfjs's engine clones (Identity kernel) every tensor it saves for the backward pass, and
// wasm's Identity copies the data where the cpu backend shares it. Under a second-order tape that
// doubles the wasm heap (a 5-trajectory pendulum meta-step: 1189 → 611 MB with sharing) and pushes
// bigger steps past wasm32's 4 GiB. Share the buffer, as wasm's own Reshape does: kernels never
// write into their inputs, and disposeData frees it when the last reference goes.
function identity({ inputs, backend }: KernelArgs): Info {
  const { x } = inputs as { x: Info };
  (backend as { incRef(id: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as Info;
}

// Cast to the dtype a tensor already has: wasm copies it, where the cpu backend shares the data.
// tfjs's gradients cast every saved operand to float32 (184 calls in the MLP meta-step), so share it,
// as Identity does.
function cast(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  if (x.dtype !== (args.attrs as { dtype: string }).dtype) return ORIGINALS.get('Cast')!(args);
  return identity(args);
}

// Sum: wasm reduces innermost axes only, so a sum over leading or middle axes (every bias gradient:
// dy [B, N] summed over B) first copies x through Transpose. Over a block of axes p, p+1, …, q−1 that leaves
// the last axis alone it is ones[1, R]·X[R, C] for each of the outer slices, on core's SIMD matrix
// product in place: one pass over x. That product adds each column's R values in order from 0, one
// at a time (1·x is exact), as the stock loop does: the same bits.
function sum(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: Info };
  const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
  const gemm = x.dtype === 'float32' && wasmKernelTuning.simdMatMul ? simdGemmFor(backend) : undefined;
  // Axes in the order given: the stock kernel moves them innermost in that order, which sets the
  // order of the sum (so [2, 1] is left to it).
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const [p, q] = [axes[0]!, axes[axes.length - 1]! + 1];
  const block = axes.every((a, i) => a === p + i);
  if (!gemm || axes.length === 0 || !block || q >= x.shape.length || prod(x.shape) === 0) return ORIGINALS.get('Sum')!(args);
  const [outer, rows, cols] = [prod(x.shape.slice(0, p)), prod(x.shape.slice(p, q)), prod(x.shape.slice(q))];
  const c = new Composer(backend as never);
  const ones = c.tensor(new Float32Array(rows).fill(1), [rows]);
  const out = c.empty(keepDims ? x.shape.map((d, i) => (i >= p && i < q ? 1 : d)) : [...x.shape.slice(0, p), ...x.shape.slice(q)]);
  const [po, px, pc] = [c.at(ones), c.at(x), c.at(out)];
  for (let i = 0; i < outer; i++) gemm(po, px + 4 * rows * cols * i, pc + 4 * cols * i, 1, cols, rows, false, false);
  return c.done(out);
}

// Slice: wasm copies rows with TypedArray.set for rank ≤ 4, but rank 5+ goes through a per-element
// JS loop (sliceImplCPU). Video batches are [B, T, H, W, C], and unstacking them into frames (Unpack,
// which calls that same slice) took 40% of a 32×32 SVG training step. Merging every dimension that
// is taken whole into the one outside it leaves an equivalent slice of rank ≤ 4 (often 2 or 3), which
// the stock kernel copies in runs; Reshape shares the buffer, so the merge is free.
function mergedSlice(shape: readonly number[], begin: readonly number[], size: readonly number[]) {
  const dims: { n: number; b: number; z: number }[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const top = dims[dims.length - 1];
    if (top && top.b === 0 && top.z === top.n) dims[dims.length - 1] = { n: shape[d]! * top.n, b: begin[d]! * top.n, z: size[d]! * top.n };
    else dims.push({ n: shape[d]!, b: begin[d]!, z: size[d]! });
  }
  dims.reverse();
  return { shape: dims.map((x) => x.n), begin: dims.map((x) => x.b), size: dims.map((x) => x.z) };
}

function sliceInfo(backend: unknown, x: Info, begin: number[], size: number[]): Info {
  const [b, z] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const m = mergedSlice(x.shape, b, z);
  if (x.shape.length <= 4 || m.shape.length > 4) return ORIGINALS.get('Slice')!({ inputs: { x }, backend, attrs: { begin: b, size: z } });
  const c = new Composer(backend as never);
  const xr = c.run('Reshape', { x }, { shape: m.shape });
  const s = c.orig('Slice', { x: xr }, { begin: m.begin, size: m.size });
  return c.done(c.run('Reshape', { x: s }, { shape: z }));
}

function slice({ inputs, backend, attrs }: KernelArgs): Info {
  const { begin, size } = attrs as { begin: number[]; size: number[] };
  return sliceInfo(backend, (inputs as { x: Info }).x, begin, size);
}

// Unpack: stock wasm slices each output with its own slice function (so replacing Slice alone does
// not reach it); same merge here.
function unpack({ inputs, backend, attrs }: KernelArgs): Info[] {
  const { value } = inputs as { value: Info };
  const rank = value.shape.length;
  const axis = ((attrs as { axis: number }).axis + rank) % rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = [...value.shape];
  size[axis] = 1;
  const outs: Info[] = [];
  for (let i = 0; i < value.shape[axis]!; i++) {
    begin[axis] = i;
    const s = sliceInfo(backend, value, begin, size);
    outs.push({ dataId: s.dataId, dtype: s.dtype, shape: outShape } as Info);
  }
  return outs;
}

// Concat: wasm copies one TypedArray.set per (outer index, input). Concatenating channels of NHWC
// maps (SVG's skips, [B, H, W, C] on the last axis) makes that B·H·W tiny copies per input. When the
// rows are many and short, concatenate the transposed [inner, rows] matrices instead: each input is
// then one contiguous copy, and the transposes run in wasm. Measured: [4096, 4] × 2 takes 10 ms
// stock and 1.2–2.8 ms so; at 16 values per row they tie; at 64, or at 64 rows, stock wins.
function concat({ inputs, backend, attrs }: KernelArgs): Info {
  const xs = Object.values(inputs) as Info[];
  const stock = ORIGINALS.get('Concat')!;
  const shape0 = xs[0]!.shape;
  const axis = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, shape0 as number[])[0]!;
  const rows = prod(shape0.slice(0, axis));
  const inner = xs.map((x) => prod(x.shape.slice(axis)));
  if (xs[0]!.dtype === 'string' || rows < wasmKernelTuning.concatMinRows || inner.some((n) => n === 0 || n > wasmKernelTuning.concatMaxInner)) {
    return stock({ inputs, backend, attrs });
  }
  const c = new Composer(backend as never);
  const ts = xs.map((x, i) => c.run('Transpose', { x: c.run('Reshape', { x }, { shape: [rows, inner[i]!] }) }, { perm: [1, 0] }));
  const cat = c.orig('Concat', ts as never, { axis: 0 });
  const back = c.run('Transpose', { x: cat }, { perm: [1, 0] });
  const outShape = [...shape0];
  outShape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0);
  return c.done(c.run('Reshape', { x: back }, { shape: outShape }));
}

const freeingOnThrow = <K extends string>(table: Record<K, KernelFunc>): Record<K, KernelFunc> =>
  Object.fromEntries(Object.entries<KernelFunc>(table).map(([k, f]) => [k, freeOnThrow(f)])) as Record<K, KernelFunc>;

const WASM_REPLACEMENTS: Record<string, KernelFunc> = freeingOnThrow({
  Identity: identity,
  Cast: cast,
  Sum: sum,
  Slice: slice,
  Concat: concat,
  Unpack: unpack as unknown as KernelFunc,
  BatchMatMul: batchMatMul,
  Conv2DBackpropInput: conv2DBackpropInput,
  Tanh: tanh,
  MaxPoolGrad: maxPoolGrad,
  Conv2D: conv2D,
  Max: max,
  DepthwiseConv2dNative: explicitSame('DepthwiseConv2dNative'),
  Conv3DBackpropInputV2: conv3DBackpropInput,
  Conv3DBackpropFilterV2: conv3DBackpropFilter,
  MaxPool3D: maxPool3D,
  Dilation2D: dilation2D,
  ...Object.fromEntries(COMPARISONS.map((n) => [n, rankSafe(n, comparison(n))])),
  ...Object.fromEntries(RANK_LIMITED.map((n) => [n, rankSafe(n)])),
});

const WASM_KERNELS: Record<string, KernelFunc> = freeingOnThrow({
  Conv2DBackpropFilter: conv2DBackpropFilter,
  UnsortedSegmentSum: unsortedSegmentSum,
  BroadcastTo: broadcastTo,
  LogSoftmax: logSoftmax,
  Einsum: einsumKernel('wasm'),
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
});

/** Kernel names this module adds to the wasm backend. */
export const WASM_ADDED_KERNELS = Object.keys(WASM_KERNELS);
/** Stock wasm kernels this module replaces with faster compositions. */
export const WASM_REPLACED_KERNELS = Object.keys(WASM_REPLACEMENTS);

const ours = new Set<unknown>([...Object.values(WASM_KERNELS), ...Object.values(WASM_REPLACEMENTS)]);

/**
 * Registers core's wasm kernels (idempotent): the missing ones (never replacing a kernel wasm itself
 * has), and, unless `replace` is false, the replacements of slow stock kernels (the stock kernel is
 * kept for them to call into). Returns the names registered by this call. Needs the wasm backend's
 * kernels registered (import '@tensorflow/tfjs-backend-wasm' first).
 */
export function registerWasmKernels(opts: { replace?: boolean } = {}): string[] {
  const done: string[] = [];
  for (const [kernelName, fn] of Object.entries(WASM_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as never });
    done.push(kernelName);
  }
  if (opts.replace === false) return done;
  for (const [kernelName, fn] of Object.entries(WASM_REPLACEMENTS)) {
    const stock = tf.getKernel(kernelName, 'wasm');
    if (!stock || ours.has(stock.kernelFunc)) continue; // wasm lacks it (nothing to speed up), or done
    ORIGINALS.set(kernelName, stock.kernelFunc as unknown as KernelFunc);
    // unregister first: registerKernel warns when it replaces
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc: fn as never });
    done.push(kernelName);
  }
  return done;
}

/** Puts the stock wasm kernels back in place of core's replacements (for comparisons, e.g. bench --stock-wasm). */
export function restoreStockWasmKernels(): string[] {
  const done: string[] = [];
  for (const [kernelName, stock] of ORIGINALS) {
    const cur = tf.getKernel(kernelName, 'wasm');
    if (!cur || !ours.has(cur.kernelFunc)) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...cur, kernelFunc: stock as never });
    done.push(kernelName);
  }
  return done;
}

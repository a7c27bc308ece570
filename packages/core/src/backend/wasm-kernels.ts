// Kernels that training needs and tfjs-backend-wasm 4.22 lacks, composed from the wasm backend's
// own kernels (so they run on XNNPACK / the wasm heap, not as JS loops). Registered by
// registerWasmKernels(); the wasm kernels they compose are looked up when they run.
import { tf } from '../tf.js';

type Info = tf.TensorInfo;
type KernelArgs = { inputs: Record<string, Info>; backend: unknown; attrs?: Record<string, unknown> };

/** Runs wasm kernels by name and disposes every intermediate but the one returned. */
class Composer {
  private readonly made: Info[] = [];
  constructor(private readonly backend: { disposeData(id: object): unknown }) {}
  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm backend has no '${name}' kernel, needed to compose another kernel`);
    const out = k.kernelFunc({ inputs, backend: this.backend, attrs } as never) as Info;
    this.made.push(out);
    return out;
  }
  /** Disposes every intermediate except `keep` and returns it. */
  done(keep: Info): Info {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    return keep;
  }
}

// dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-padT, ow*s+kw-padL, ci] * dy[n,oh,ow,co]: a conv2d
// of x^T ([Ci,H,W,N], batch = Ci) with dy^T ([OH,OW,N,Co] as filter) dilated by the stride.
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
  const c = new Composer(backend as never);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad as 'same', a.dimRoundingMode,
  );
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
  const { x } = inputs as { x: Info };
  const { shape } = attrs as { shape: number[] };
  const c = new Composer(backend as never);
  const xs = [...Array(shape.length - x.shape.length).fill(1), ...x.shape] as number[];
  const r = c.run('Reshape', { x }, { shape: xs });
  const reps = shape.map((d, i) => (xs[i] === d ? 1 : d));
  return c.done(c.run('Tile', { x: r }, { reps }));
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

const WASM_KERNELS: Record<string, (args: KernelArgs) => Info> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  UnsortedSegmentSum: unsortedSegmentSum,
  BroadcastTo: broadcastTo,
  LogSoftmax: logSoftmax,
};

/** Kernel names this module adds to the wasm backend. */
export const WASM_ADDED_KERNELS = Object.keys(WASM_KERNELS);

/** Registers the missing wasm kernels (idempotent; never replaces a kernel wasm itself has). */
export function registerWasmKernels(): string[] {
  const added: string[] = [];
  for (const [kernelName, fn] of Object.entries(WASM_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as never });
    added.push(kernelName);
  }
  return added;
}

// Kernels composed from other kernels of the same backend (core's wasm kernels, the cpu fixes):
// runs kernels by name on backend-side tensor infos and frees every intermediate but the result.
// Imports tfjs-core directly (not ../tf.js): tf.ts installs the cpu fixes while it is evaluated.
import * as tf from '@tensorflow/tfjs-core';

export type Info = tf.TensorInfo;
export type KernelArgs = { inputs: Record<string, Info>; backend: unknown; attrs?: Record<string, unknown> };
export type KernelFunc = (args: KernelArgs) => Info;
type Backend = { disposeData(id: object): unknown; write(values: Float32Array, shape: number[], dtype: string): object };

/** Composers whose kernel has not finished yet, innermost last (see freeOnThrow). */
const open: KernelComposer[] = [];

export class KernelComposer {
  private readonly made: Info[] = [];
  constructor(
    private readonly backend: Backend,
    private readonly backendName: string,
    /** Kernels this backend had before core replaced them, by name (what `orig` calls). */
    private readonly originals: ReadonlyMap<string, KernelFunc> = new Map(),
  ) {
    open.push(this);
  }
  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    const k = tf.getKernel(name, this.backendName);
    if (!k) throw new Error(`${this.backendName} backend has no '${name}' kernel, needed to compose another kernel`);
    return this.keep(k.kernelFunc({ inputs, backend: this.backend, attrs } as never) as Info);
  }
  /** Runs the backend's own kernel `name` (not core's replacement of it). */
  orig(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    const f = this.originals.get(name) ?? (tf.getKernel(name, this.backendName)?.kernelFunc as KernelFunc | undefined);
    if (!f) throw new Error(`${this.backendName} backend has no '${name}' kernel`);
    return this.keep(f({ inputs, backend: this.backend, attrs }));
  }
  /** Runs the kernel function f (e.g. another composition) on this backend's infos. */
  call(f: KernelFunc, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    return this.keep(f({ inputs, backend: this.backend, attrs }));
  }
  /** A float32 scalar on the backend (freed with the other intermediates). */
  scalar(v: number): Info {
    return this.tensor(new Float32Array([v]), []);
  }
  /** A float32 tensor on the backend (freed with the other intermediates). */
  tensor(values: Float32Array, shape: number[]): Info {
    const dataId = this.backend.write(values, shape, 'float32');
    return this.keep({ dataId, shape, dtype: 'float32' } as Info);
  }
  /** x broadcast to `shape`: a reshape to its rank, then Tile where it must repeat. */
  broadcastTo(x: Info, shape: number[]): Info {
    const xs = padShape(x.shape, shape.length);
    const r = this.run('Reshape', { x }, { shape: xs });
    const reps = shape.map((d, i) => d / xs[i]!);
    return reps.every((n) => n === 1) ? r : this.run('Tile', { x: r }, { reps });
  }
  /**
   * The one-hot filter [...window, 1, K] (K = the window's size) whose conv gathers each window's
   * K values into K channels; its input backprop scatters them back.
   */
  windowFilter(window: number[]): Info {
    const k = prod(window);
    const values = new Float32Array(k * k);
    for (let i = 0; i < k; i++) values[i * k + i] = 1;
    return this.tensor(values, [...window, 1, k]);
  }
  protected keep(t: Info): Info {
    this.made.push(t);
    return t;
  }
  /** Frees every intermediate except `keep` and returns it. */
  done(keep: Info): Info {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    const i = open.lastIndexOf(this);
    if (i >= 0) open.splice(i, 1);
    return keep;
  }
  /** Frees every intermediate: its kernel threw. */
  abandon(): void {
    for (const t of this.made.splice(0)) this.backend.disposeData(t.dataId);
  }
}

/**
 * A composed kernel that frees its intermediates when it throws (a bad shape deep inside, the
 * wasm heap full), as it does when it returns: tfjs's engine only tracks what a kernel returns, so
 * buffers made before the throw would stay in the backend for good. Nested compositions (a
 * composed kernel running another) free their own.
 */
export function freeOnThrow(f: KernelFunc): KernelFunc {
  return (args) => {
    const mark = open.length;
    try {
      return f(args);
    } catch (e) {
      for (const c of open.slice(mark)) c.abandon();
      throw e;
    } finally {
      open.length = Math.min(open.length, mark);
    }
  };
}

export const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** shape with leading 1s up to `rank` (how broadcasting aligns shapes). */
export const padShape = (shape: readonly number[], rank: number): number[] => [...new Array<number>(rank - shape.length).fill(1), ...shape];

// The cpu and wasm BatchMatMul kernels of tfjs 4.22 flatten the batch dims and index the smaller
// batch modulo its size. That is right only when one batch broadcasts along leading dims; a batch
// broadcast along an inner dim ([2, 1, M, K] @ [1, 3, K, N]) silently pairs the wrong matrices.
// Tiling both operands out to the common batch shape makes the flat batches line up.
/** a and b with their batch dims tiled to the broadcast batch shape where the kernels need it. */
export function broadcastMatMulBatches(c: KernelComposer, a: Info, b: Info): [Info, Info] {
  const [ba, bb] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const out = tf.backend_util.assertAndGetBroadcastShape(ba, bb);
  const [pa, pb] = [padShape(ba, out.length), padShape(bb, out.length)];
  const suffixOf = (small: number[], big: number[]) => small.every((d, i) => d === big[i] || (d === 1 && small.slice(0, i + 1).every((e) => e === 1)));
  // Fine as it is: a batch of 1, equal batches, or one batch broadcast along leading dims only.
  if (prod(ba) === 1 || prod(bb) === 1 || suffixOf(pa, pb) || suffixOf(pb, pa)) return [a, b];
  const spread = (x: Info) => c.broadcastTo(x, [...out, ...x.shape.slice(-2)]);
  return [spread(a), spread(b)];
}

// Einsum: tfjs 4.22's cpu kernel returns wrong shapes and values for some equations (ij,k->ik gives
// [2, 1]; a,ij->ij gives [1, 1]), and wasm has none. Composed here for any backend: each input is
// transposed into the equation's letter order and broadcast to all letters, the inputs are
// multiplied, and the summed letters (which tfjs orders after the output's) are summed away.
export function einsumKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const tensors = Object.values(inputs);
    const { equation } = attrs as { equation: string };
    const { allDims, summedDims, idDims } = tf.backend_util.decodeEinsumEquation(equation, tensors.length);
    tf.backend_util.checkEinsumDimSizes(allDims.length, idDims, tensors as tf.Tensor[]);
    const size = new Array<number>(allDims.length).fill(1);
    idDims.forEach((ids, t) => ids.forEach((d, k) => (size[d] = tensors[t]!.shape[k]!)));
    const c = new KernelComposer(backend as never, backendName);
    let acc: Info | undefined;
    tensors.forEach((x, t) => {
      const ids = idDims[t]!;
      const perm = ids.map((d, k) => [d, k] as const).sort((p, q) => p[0] - q[0]).map(([, k]) => k);
      const y = perm.every((p, i) => p === i) ? x : c.run('Transpose', { x }, { perm });
      const full = c.run('Reshape', { x: y }, { shape: size.map((n, d) => (ids.includes(d) ? n : 1)) });
      acc = acc ? c.run('Multiply', { a: acc, b: full }) : full;
    });
    return c.done(summedDims.length ? c.run('Sum', { x: acc! }, { axis: summedDims, keepDims: false }) : acc!);
  };
}

let cpuFixed = false;

/** Wraps the cpu backend's BatchMatMul so that inner-dim batch broadcasting is right, and replaces its Einsum (above). */
export function installCpuKernelFixes(): void {
  if (cpuFixed) return;
  const k = tf.getKernel('BatchMatMul', 'cpu');
  if (!k) return;
  const stock = k.kernelFunc as unknown as KernelFunc;
  const fixed: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const c = new KernelComposer(args.backend as never, 'cpu');
    const [xa, xb] = broadcastMatMulBatches(c, a, b);
    if (xa === a && xb === b) return stock(args);
    return c.done(c.call(stock, { a: xa, b: xb }, args.attrs));
  };
  tf.unregisterKernel('BatchMatMul', 'cpu');
  tf.registerKernel({ ...k, kernelFunc: freeOnThrow(fixed) as never });
  const e = tf.getKernel('Einsum', 'cpu');
  if (e) tf.unregisterKernel('Einsum', 'cpu');
  tf.registerKernel({ kernelName: 'Einsum', backendName: 'cpu', kernelFunc: freeOnThrow(einsumKernel('cpu')) as never });
  cpuFixed = true;
}

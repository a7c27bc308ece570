// Gradient registrations that make tfjs 4.22 correct to any order (see shared/notes/tfjs.md).
//
// Two defects are fixed here:
//  1. Gradients that use a saved *output* lose every second-order term through it (the engine's
//     clone of an output is taped before the op that produced it). Each such gradient is
//     re-registered to save the *input* and recompute the output with ordinary, differentiable ops
//     (Tanh, Sigmoid and Exp keep their output too, for backwards that nothing records).
//  2. Gradient kernels with no gradient of their own (Conv2DBackpropFilter, EluGrad, MaxPoolGrad,
//     ...) stop the second derivative. Each gets a gradient written with ops whose own gradients
//     are registered, so the closure holds to any order.
//
// This file imports tfjs-core directly (not ../tf.js) because it is loaded while tf.ts itself is
// being evaluated; it is the same single tfjs-core copy.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

type T = Tensor;
const engine = () => tf.engine();
const run = (name: string, inputs: Record<string, T>, attrs: object = {}): T =>
  engine().runKernel(name, inputs as never, attrs as never) as T;

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Axes (as a list) of a reduction attribute, like tfjs' util.parseAxisParam. */
function axesOf(axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis == null) return [...Array(rank).keys()];
  const a = typeof axis === 'number' ? [axis] : axis;
  return a.map((v) => (v < 0 ? v + rank : v));
}

/** Shape of a keepDims reduction of `shape` over `axes`. */
function keepDimShape(shape: number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

// ---------------------------------------------------------------------------------------------
// 1. Output-saving gradients, rewritten to save inputs.

// These three also save their output, for the one case where the disconnected saved output is
// exact: a backward that nothing records (no outer tape, engine gradientDepth 0: the outermost
// gradient of a meta-step), which then skips recomputing the op. The value is the same tensor the
// forward made, so the gradient is bit for bit the recomputed one.
const recorded = (): boolean => (engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
/** The op's output for a gradient: the saved one when nothing records this backward, else recomputed from x. */
const outputOf = (saved: T[], recompute: (x: T) => T): T => (recorded() ? recompute(saved[0]!) : saved[1]!);

const tanhGrad: GradConfig = {
  kernelName: 'Tanh',
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as T, tf.sub(1, tf.square(outputOf(saved, tf.tanh)))) }),
};

const sigmoidGrad: GradConfig = {
  kernelName: 'Sigmoid',
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({
    x: () => {
      const y = outputOf(saved, tf.sigmoid);
      return tf.mul(dy as T, tf.mul(y, tf.sub(1, y)));
    },
  }),
};

const expGrad: GradConfig = {
  kernelName: 'Exp',
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as T, outputOf(saved, tf.exp)) }),
};

// elu'(x) = 1 for x > 0, exp(x) otherwise = exp(min(x, 0)): no overflowing branch, no where().
const eluGrad: GradConfig = {
  kernelName: 'Elu',
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as T, tf.exp(tf.minimum(x!, 0))) }),
};

const softmaxGrad: GradConfig = {
  kernelName: 'Softmax',
  inputsToSave: ['logits'],
  gradFunc: (dy, [logits], attrs) => {
    const { dim } = attrs as unknown as { dim: number };
    return {
      logits: () => {
        const y = tf.softmax(logits!, dim);
        const dyY = tf.mul(dy as T, y);
        return tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y));
      },
    };
  },
};

// Only graph models reach the LogSoftmax kernel: tf.logSoftmax is a customGrad composite (made exact
// by custom-grad.ts).
const logSoftmaxGrad: GradConfig = {
  kernelName: 'LogSoftmax',
  inputsToSave: ['logits'],
  gradFunc: (dy, [logits], attrs) => {
    const { axis } = attrs as unknown as { axis: number };
    return {
      logits: () => tf.sub(dy as T, tf.mul(tf.sum(dy as T, axis, true), tf.softmax(logits!, axis))),
    };
  },
};

function reduceTo(res: T, shape: number[], outShape: number[]): T {
  const axes = tf.backend_util.getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(res, axes) : res, shape);
}

const powGrad: GradConfig = {
  kernelName: 'Pow',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, [a, b]) => {
    const base = a!;
    const ex = b!;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(base.shape, ex.shape);
    return {
      a: () => {
        const e = tf.cast(ex, 'float32');
        const res = tf.mul(dy as T, tf.mul(e, tf.pow(base, tf.sub(e, 1))));
        return reduceTo(res, base.shape, outShape);
      },
      b: () => {
        // log(base) where base > 0, else 0; log of a safe operand so no inf*0 at higher order.
        const pos = tf.greater(base, 0);
        const logBase = tf.where(pos, tf.log(tf.where(pos, base, tf.onesLike(base))), tf.zerosLike(base));
        const res = tf.mul(dy as T, tf.mul(tf.pow(base, ex), logBase));
        return reduceTo(res, ex.shape, outShape);
      },
    };
  },
};

function minMaxGrad(kernelName: 'Max' | 'Min', axisAttr: 'reductionIndices' | 'axis'): GradConfig {
  const reduce = kernelName === 'Max' ? tf.max : tf.min;
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf((attrs as Record<string, number | number[]>)[axisAttr], x!.rank);
      return {
        x: () => {
          const y = reduce(x!, axes, true);
          const g = tf.reshape(dy as T, keepDimShape(x!.shape, axes));
          return tf.mul(g, tf.cast(tf.equal(x!, y), (dy as T).dtype));
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pooling. Patches are extracted by a conv2d with a one-hot filter (channels folded into the
// batch), so every step is a conv2d / Conv2DBackpropInput: differentiable to any order.

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** [N,H,W,C] -> [N*C, OH, OW, fh*fw]: the pooling windows, position k = r*fw + c. */
function patches(x: T, a: PoolAttrs): T {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [fh, fw] = pair(a.filterSize);
  const eye = tf.reshape(tf.eye(fh * fw), [fh, fw, 1, fh * fw]);
  const xs = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]);
  return tf.conv2d(xs as tf.Tensor4D, eye as tf.Tensor4D, a.strides, a.pad as 'same', 'NHWC', 1, a.dimRoundingMode);
}

/** Back from [N*C, OH, OW, 1] to [N, OH, OW, C]. */
function unfoldChannels(t: T, n: number, c: number): T {
  const [, oh, ow] = t.shape;
  return tf.transpose(tf.reshape(t, [n, c, oh!, ow!]), [0, 2, 3, 1]);
}

/** One-hot (first maximum, as the MaxPoolGrad kernels pick) over each window of x; no gradient. */
function maxPoolArgmaxMask(x: T, a: PoolAttrs): T {
  const [, h, w] = x.shape as [number, number, number, number];
  // Out-of-image positions ('same' padding) must never win: push them far below any value.
  const valid = patches(tf.ones([1, h, w, 1]), a);
  const p = tf.sub(patches(x, a), tf.mul(tf.sub(1, valid), 1e30));
  const eq = tf.cast(tf.equal(p, tf.max(p, -1, true)), 'float32');
  // (tf.cumsum needs a non-negative axis: -1 silently permutes the wrong way.)
  return tf.mul(eq, tf.cast(tf.equal(tf.cumsum(eq, 3, true), 0), 'float32'));
}

const maxPoolGrad: GradConfig = {
  kernelName: 'MaxPool',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as PoolAttrs;
    return {
      x: () => {
        const y = tf.maxPool(x as tf.Tensor4D, a.filterSize, a.strides, a.pad as 'same', a.dimRoundingMode);
        return run('MaxPoolGrad', { dy: dy as T, input: x!, output: y }, attrs);
      },
    };
  },
};

// MaxPoolGrad is linear in dy (piecewise constant in input/output): its adjoint picks, per window,
// the incoming gradient at the argmax.
const maxPoolGradGrad: GradConfig = {
  kernelName: 'MaxPoolGrad',
  inputsToSave: ['dy', 'input'],
  gradFunc: (ddx, [dy, input], attrs) => {
    const a = attrs as unknown as PoolAttrs;
    const [n, , , c] = input!.shape as number[];
    return {
      dy: () => {
        const mask = maxPoolArgmaxMask(input!, a);
        const picked = tf.sum(tf.mul(patches(ddx as T, a), mask), -1, true);
        return unfoldChannels(picked, n!, c!);
      },
      input: () => tf.zerosLike(input!),
      output: () => tf.zerosLike(dy!),
    };
  },
};

/** Number of in-image pixels under each pooling window, [1, OH, OW, 1]. */
function windowCounts(h: number, w: number, a: PoolAttrs): T {
  const [fh, fw] = pair(a.filterSize);
  return tf.conv2d(
    tf.ones([1, h, w, 1]) as tf.Tensor4D,
    tf.ones([fh, fw, 1, 1]) as tf.Tensor4D,
    a.strides,
    a.pad as 'same',
    'NHWC',
    1,
    a.dimRoundingMode,
  );
}

// tfjs' AvgPool divides by the number of in-image pixels but its AvgPoolGrad kernels divide by
// fh*fw, so the stock first-order gradient is wrong at 'same'-padded borders. Rescaling dy by
// fh*fw/count makes it exact.
const avgPoolGrad: GradConfig = {
  kernelName: 'AvgPool',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as PoolAttrs;
    const [fh, fw] = pair(a.filterSize);
    return {
      x: () => {
        const [, h, w] = x!.shape as number[];
        const scale = tf.div(fh * fw, windowCounts(h!, w!, a));
        return run('AvgPoolGrad', { dy: tf.mul(dy as T, scale), input: x! }, attrs);
      },
    };
  },
};

// AvgPoolGrad(dy) spreads dy/(fh*fw) over each window; its adjoint is the window sum / (fh*fw)
// = avgPool * count / (fh*fw).
const avgPoolGradGrad: GradConfig = {
  kernelName: 'AvgPoolGrad',
  inputsToSave: ['dy', 'input'],
  gradFunc: (ddx, [dy, input], attrs) => {
    const a = attrs as unknown as PoolAttrs;
    const [fh, fw] = pair(a.filterSize);
    const [, h, w] = input!.shape as number[];
    return {
      dy: () =>
        tf.mul(
          tf.avgPool(ddx as tf.Tensor4D, a.filterSize, a.strides, a.pad as 'same', a.dimRoundingMode),
          tf.div(windowCounts(h!, w!, a), fh * fw),
        ),
      input: () => tf.zerosLike(input!),
    };
  },
};

// 3-D pooling: the MaxPool3DGrad and AvgPool3DGrad kernels have no gradients in tfjs 4.22. The
// pooling gradients are written instead with the windows gathered and scattered by conv3d and its
// input backprop with one-hot / all-ones filters (channels folded into the batch), whose gradients
// are registered: exact to any order, on every backend. ('valid' and 'same' padding: tf.conv3d
// takes no explicit padding.)
interface Pool3DAttrs {
  filterSize: number | [number, number, number];
  strides: number | [number, number, number];
  pad: 'valid' | 'same' | number;
}
const triple = (v: number | [number, number, number]): [number, number, number] => (typeof v === 'number' ? [v, v, v] : v);

function pool3dWindows(a: Pool3DAttrs, name: string) {
  if (a.pad !== 'valid' && a.pad !== 'same') throw new Error(`${name} gradient: padding ${JSON.stringify(a.pad)} is not supported (use 'valid' or 'same')`);
  const pad = a.pad;
  const [fd, fh, fw] = triple(a.filterSize);
  const k = fd * fh * fw;
  const fold = (x: T) => {
    const [n, d, h, w, c] = x.shape as number[];
    return tf.reshape(tf.transpose(x, [0, 4, 1, 2, 3]), [n! * c!, d!, h!, w!, 1]) as tf.Tensor5D;
  };
  const unfold = (t: T, n: number, c: number) => {
    const [, d, h, w] = t.shape as number[];
    return tf.transpose(tf.reshape(t, [n, c, d!, h!, w!]), [0, 2, 3, 4, 1]);
  };
  const eye = () => tf.reshape(tf.eye(k), [fd, fh, fw, 1, k]) as tf.Tensor5D;
  const ones = () => tf.ones([fd, fh, fw, 1, 1]) as tf.Tensor5D;
  /** [N·C, OD, OH, OW, K]: the windows of x. */
  const windows = (x: T) => tf.conv3d(fold(x), eye(), a.strides, pad);
  /** Scatter [N·C, OD, OH, OW, K or 1] back onto [N·C, D, H, W, 1] (the adjoint of `windows`). */
  const scatter = (t: T, filter: tf.Tensor5D, like: T) => {
    const [n, d, h, w, c] = like.shape as number[];
    return unfold(tf.conv3dTranspose(t as tf.Tensor5D, filter, [n! * c!, d!, h!, w!, 1], a.strides, pad), n!, c!);
  };
  const inImage = (x: T) => {
    const [, d, h, w] = x.shape as number[];
    return tf.ones([1, d!, h!, w!, 1]) as tf.Tensor5D;
  };
  return { pad, fold, eye, ones, windows, scatter, inImage };
}

const maxPool3DGrad: GradConfig = {
  kernelName: 'MaxPool3D',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as Pool3DAttrs;
    return {
      x: () => {
        const p3 = pool3dWindows(a, 'maxPool3d');
        // Out-of-image positions never win; the first maximum of each window takes dy.
        const valid = tf.conv3d(p3.inImage(x!), p3.eye(), a.strides, p3.pad);
        const p = tf.sub(p3.windows(x!), tf.mul(tf.sub(1, valid), 1e30));
        const eq = tf.cast(tf.equal(p, tf.max(p, -1, true)), 'float32');
        const first = tf.mul(eq, tf.cast(tf.equal(tf.cumsum(eq, 4, true), 0), 'float32'));
        return p3.scatter(tf.mul(first, p3.fold(dy as T)), p3.eye(), x!);
      },
    };
  },
};

const avgPool3DGrad: GradConfig = {
  kernelName: 'AvgPool3D',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as Pool3DAttrs;
    return {
      x: () => {
        const p3 = pool3dWindows(a, 'avgPool3d');
        const counts = tf.conv3d(p3.inImage(x!), p3.ones(), a.strides, p3.pad);
        return p3.scatter(tf.div(p3.fold(dy as T), counts), p3.ones(), x!);
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// 2. Gradient kernels with no gradient.

// EluGrad(dy, y) = dy * (y > 0 ? 1 : y + 1) (the kernels test y >= 0).
const eluGradGrad: GradConfig = {
  kernelName: 'EluGrad',
  inputsToSave: ['dy', 'y'],
  gradFunc: (ddx, [dy, y]) => {
    const neg = tf.cast(tf.less(y!, 0), 'float32');
    return {
      dy: () => tf.mul(ddx as T, tf.add(tf.mul(neg, y!), 1)),
      y: () => tf.mul(tf.mul(ddx as T, dy!), neg),
    };
  },
};

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: [number, number] | number;
  inputShape?: [number, number, number, number];
}

// Conv2DBackpropFilter(x, dy) is bilinear; as TF-Python's nn_grad._Conv2DBackpropFilterGrad.
const conv2DBackpropFilterGrad: GradConfig = {
  kernelName: 'Conv2DBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, [x, dy], attrs) => {
    const a = attrs as unknown as ConvAttrs;
    return {
      x: () =>
        tf.conv2dTranspose(dy as tf.Tensor4D, ddw as tf.Tensor4D, x!.shape as [number, number, number, number], a.strides, a.pad as 'same', a.dimRoundingMode),
      dy: () => tf.conv2d(x as tf.Tensor4D, ddw as tf.Tensor4D, a.strides, a.pad as 'same', a.dataFormat, 1, a.dimRoundingMode),
    };
  },
};

// Conv3D's backprops have no gradients in tfjs 4.22 (so tf.conv3d stops at first order). Both are
// bilinear, as in 2-D: each input's gradient is the conv or the other backprop with ddx/ddw.
interface Conv3DAttrs {
  strides: number | [number, number, number];
  pad: 'valid' | 'same';
  inputShape?: number[];
  filterShape?: number[];
}

const conv3DBackpropInputGrad: GradConfig = {
  kernelName: 'Conv3DBackpropInputV2',
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx, [dy, filter], attrs) => {
    const a = attrs as unknown as Conv3DAttrs;
    return {
      dy: () => tf.conv3d(ddx as tf.Tensor5D, filter as tf.Tensor5D, a.strides, a.pad),
      filter: () => run('Conv3DBackpropFilterV2', { x: ddx as T, dy: dy! }, { strides: a.strides, pad: a.pad, filterShape: filter!.shape }),
    };
  },
};

const conv3DBackpropFilterGrad: GradConfig = {
  kernelName: 'Conv3DBackpropFilterV2',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, [x, dy], attrs) => {
    const a = attrs as unknown as Conv3DAttrs;
    return {
      x: () => run('Conv3DBackpropInputV2', { dy: dy!, filter: ddw as T }, { strides: a.strides, pad: a.pad, inputShape: x!.shape }),
      dy: () => tf.conv3d(x as tf.Tensor5D, ddw as tf.Tensor5D, a.strides, a.pad),
    };
  },
};

// Depthwise backprops: bilinear too. Kernels are called by name (the ops are not public).
const depthwiseBackpropFilterGrad: GradConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, [x, dy], attrs) => {
    const a = attrs as unknown as ConvAttrs;
    return {
      x: () =>
        run('DepthwiseConv2dNativeBackpropInput', { dy: dy!, filter: ddw as T }, { ...a, inputShape: x!.shape }),
      dy: () => tf.depthwiseConv2d(x as tf.Tensor4D, ddw as tf.Tensor4D, a.strides, a.pad as 'same', 'NHWC', a.dilations ?? 1, a.dimRoundingMode),
    };
  },
};

const depthwiseBackpropInputGrad: GradConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx, [dy, filter], attrs) => {
    const a = attrs as unknown as ConvAttrs;
    return {
      dy: () => tf.depthwiseConv2d(ddx as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad as 'same', 'NHWC', a.dilations ?? 1, a.dimRoundingMode),
      filter: () =>
        run('DepthwiseConv2dNativeBackpropFilter', { x: ddx as T, dy: dy! }, { ...a, filterShape: filter!.shape }),
    };
  },
};

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
  size: [number, number];
}

// Resize*Grad(dy) is the adjoint of the forward resize, so the forward resize (to dy's size) is
// the adjoint of the gradient kernel.
function resizeGradGrad(kernelName: string, forward: typeof tf.image.resizeBilinear): GradConfig {
  return {
    kernelName,
    inputsToSave: ['dy', 'images'],
    gradFunc: (ddx, [dy, images], attrs) => {
      const a = attrs as unknown as ResizeAttrs;
      const [, oh, ow] = dy!.shape as number[];
      return {
        dy: () => forward(ddx as tf.Tensor4D, [oh!, ow!], a.alignCorners, a.halfPixelCenters),
        images: () => tf.zerosLike(images!),
      };
    },
  };
}

/** The [out, in] matrix of a 1-D resize along one axis, computed by the forward kernel itself. */
function resizeMatrix(forward: typeof tf.image.resizeBilinear, n: number, out: number, a: ResizeAttrs): T {
  const eye = tf.reshape(tf.eye(n), [n, n, 1, 1]);
  return tf.transpose(tf.reshape(forward(eye as tf.Tensor4D, [out, 1], a.alignCorners, a.halfPixelCenters), [n, out]));
}

// The Resize*Grad kernels of tfjs 4.22 ignore halfPixelCenters, so the stock first-order gradient
// is wrong in that mode; and the cpu ResizeBilinearGrad returns shape [n, w, h, c], so it fails on
// non-square images. Resizing is separable: y = Ah x Aw^T per image and channel, so
// dx = Ah^T dy Aw with matmuls (any order). The kernels are still used for square images in the
// other modes.
function resizeGrad(kernelName: string, forward: typeof tf.image.resizeBilinear, gradKernel: string): GradConfig {
  return {
    kernelName,
    inputsToSave: ['images'],
    gradFunc: (dy, [images], attrs) => {
      const a = attrs as unknown as ResizeAttrs;
      return {
        images: () => {
          const [n, h, w, c] = images!.shape as number[];
          if (!a.halfPixelCenters && h === w) return run(gradKernel, { dy: dy as T, images: images! }, attrs);
          const [, oh, ow] = (dy as T).shape as number[];
          const ah = resizeMatrix(forward, h!, oh!, a); // [oh, h]
          const aw = resizeMatrix(forward, w!, ow!, a); // [ow, w]
          let g = tf.reshape(tf.transpose(dy as T, [0, 3, 1, 2]), [n! * c! * oh!, ow!]);
          g = tf.reshape(tf.matMul(g, aw), [n! * c!, oh!, w!]);
          g = tf.reshape(tf.transpose(g, [0, 2, 1]), [n! * c! * w!, oh!]);
          g = tf.reshape(tf.matMul(g, ah), [n!, c!, w!, h!]);
          return tf.transpose(g, [0, 3, 2, 1]);
        },
      };
    },
  };
}

interface StridedSliceAttrs {
  begin: number[];
  end: number[];
  strides: number[];
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
}

// StridedSlice picks x[begin + k*stride] per axis; its gradient scatters dy back with reshape,
// pad, slice and reverse only (all differentiable), axis by axis.
const stridedSliceGrad: GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as StridedSliceAttrs;
    return {
      x: () => {
        const shape = x!.shape;
        const info = tf.slice_util.sliceInfo(
          shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask,
        );
        const dense = info.finalShapeSparse;
        if (dense.some((d: number) => d === 0)) return tf.zerosLike(x!);
        let g = tf.reshape(dy as T, dense);
        for (let ax = 0; ax < shape.length; ax++) {
          const n = dense[ax]!;
          let s = info.strides[ax]!;
          let b = info.begin[ax]!;
          if (s < 0) {
            g = tf.reverse(g, ax);
            s = -s;
            b = b - (n - 1) * s;
          }
          if (s > 1) {
            // Interleave s-1 zeros after each element along ax.
            const cur = g.shape;
            const split = [...cur.slice(0, ax + 1), 1, ...cur.slice(ax + 1)];
            const pads = split.map((_, i) => [0, i === ax + 1 ? s - 1 : 0] as [number, number]);
            g = tf.pad(tf.reshape(g, split), pads);
            const merged = [...cur];
            merged[ax] = n * s;
            g = tf.reshape(g, merged);
            const size = [...merged];
            size[ax] = (n - 1) * s + 1;
            g = tf.slice(g, merged.map(() => 0), size);
          }
          const len = (n - 1) * s + 1;
          const after = shape[ax]! - b - len;
          if (b !== 0 || after !== 0) {
            g = tf.pad(g, g.shape.map((_, i) => (i === ax ? [b, after] : [0, 0]) as [number, number]));
          }
        }
        return g;
      },
    };
  },
};

const gatherNdGrad: GradConfig = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, [params, indices]) => ({
    params: () => tf.scatterND(indices!, dy as T, params!.shape),
    indices: () => tf.zeros(indices!.shape, 'float32'),
  }),
};

const scatterNdGrad: GradConfig = {
  kernelName: 'ScatterNd',
  inputsToSave: ['indices'],
  gradFunc: (ddx, [indices]) => ({
    updates: () => tf.gatherND(ddx as T, indices!),
    indices: () => tf.zeros(indices!.shape, 'float32'),
  }),
};

// tfjs' Tile gradient stops at rank 4; a reshape + sum works at any rank.
const tileGrad: GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { reps } = attrs as unknown as { reps: number[] };
    return {
      x: () => {
        const split: number[] = [];
        const axes: number[] = [];
        x!.shape.forEach((d, i) => {
          axes.push(split.length);
          split.push(reps[i]!, d);
        });
        return tf.sum(tf.reshape(dy as T, split), axes);
      },
    };
  },
};

// BatchMatMul: tfjs 4.22's gradient returns the broadcast shape, so a batched a against an
// unbatched (or size-1-batch) b, e.g. x [B, T, D] @ W [D, H], fails with a shape error. Sum the
// gradient over the batch dims the input was broadcast along.
function sumToShape(g: T, shape: readonly number[]): T {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.map((d, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return tf.reshape(tf.sum(g, axes), shape as number[]);
}

const batchMatMulGrad: GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, [a, b], attrs) => {
    const { transposeA: ta, transposeB: tb } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const d = dy as T;
    const [ga, gb] = !ta && !tb ? [() => tf.matMul(d, b!, false, true), () => tf.matMul(a!, d, true, false)]
      : !ta && tb ? [() => tf.matMul(d, b!, false, false), () => tf.matMul(d, a!, true, false)]
      : ta && !tb ? [() => tf.matMul(b!, d, false, true), () => tf.matMul(a!, d, false, false)]
      : [() => tf.matMul(b!, d, true, true), () => tf.matMul(d, a!, true, true)];
    return { a: () => sumToShape(ga(), a!.shape), b: () => sumToShape(gb(), b!.shape) };
  },
};

// Conv2D: tfjs 4.22 refuses dilation > 1 in the gradient (even first order). A dilated conv is the
// plain conv with the filter's taps spread out by zeros, so differentiate that: the input gradient
// uses the spread filter, and the filter gradient keeps every d-th tap of the spread one.
function spreadFilter(w: T, dh: number, dw: number): T {
  const [kh, kw, ci, co] = w.shape as number[];
  const r = tf.pad(tf.reshape(w, [kh!, 1, kw!, 1, ci!, co!]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(r, [kh! * dh, kw! * dw, ci!, co!]), [0, 0, 0, 0], [(kh! - 1) * dh + 1, (kw! - 1) * dw + 1, ci!, co!]);
}

const conv2DGrad: GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, [x, filter], attrs) => {
    const a = attrs as unknown as ConvAttrs;
    const [dh, dw] = pair(a.dilations ?? 1);
    const w = dh === 1 && dw === 1 ? filter! : spreadFilter(filter!, dh, dw);
    const common = { strides: a.strides, pad: a.pad, dataFormat: a.dataFormat, dimRoundingMode: a.dimRoundingMode };
    return {
      x: () => run('Conv2DBackpropInput', { dy: dy as T, filter: w }, { ...common, inputShape: x!.shape }),
      filter: () => {
        const g = run('Conv2DBackpropFilter', { x: x!, dy: dy as T }, { ...common, filterShape: w.shape });
        return dh === 1 && dw === 1 ? g : tf.stridedSlice(g, [0, 0, 0, 0], w.shape, [dh, dw, 1, 1]);
      },
    };
  },
};

// DepthwiseConv2dNative: as Conv2D, the stock gradient refuses dilation > 1; same cure.
const depthwiseGrad: GradConfig = {
  kernelName: 'DepthwiseConv2dNative',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, [x, filter], attrs) => {
    const a = attrs as unknown as ConvAttrs;
    const [dh, dw] = pair(a.dilations ?? 1);
    const w = dh === 1 && dw === 1 ? filter! : spreadFilter(filter!, dh, dw);
    const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dilations: [1, 1] };
    return {
      x: () => run('DepthwiseConv2dNativeBackpropInput', { dy: dy as T, filter: w }, { ...common, inputShape: x!.shape }),
      filter: () => {
        const g = run('DepthwiseConv2dNativeBackpropFilter', { x: x!, dy: dy as T }, { ...common, filterShape: w.shape });
        return dh === 1 && dw === 1 ? g : tf.stridedSlice(g, [0, 0, 0, 0], w.shape, [dh, dw, 1, 1]);
      },
    };
  },
};

// Dilation2D (grayscale morphology): its backprop kernels have no gradients in tfjs 4.22. Written
// with the windows instead: y = max over the window of x + filter, so dy goes to each window's
// first maximum; dx scatters it back (the adjoint conv), dfilter sums it per offset and channel.
const dilation2DGrad: GradConfig = {
  kernelName: 'Dilation2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, [x, filter], attrs) => {
    const a = attrs as unknown as { strides: number | [number, number]; pad: 'valid' | 'same'; dilations: number | [number, number] };
    const [n, h, w, c] = x!.shape as number[];
    const [fh, fw] = filter!.shape as number[];
    const [dh, dw] = pair(a.dilations);
    const [sh, sw] = pair(a.strides);
    if ((dh > 1 || dw > 1) && (sh > 1 || sw > 1)) throw new Error('dilation2d gradient: strides and dilations both > 1 are not supported');
    const k = fh! * fw!;
    const eye = spreadFilter(tf.reshape(tf.eye(k), [fh!, fw!, 1, k]), dh, dw) as tf.Tensor4D;
    const fold = (t: T) => tf.reshape(tf.transpose(t, [0, 3, 1, 2]), [n! * c!, t.shape[1]!, t.shape[2]!, 1]) as tf.Tensor4D;
    const windows = (t: tf.Tensor4D) => tf.conv2d(t, eye, a.strides, a.pad);
    const inImage = windows(tf.ones([1, h!, w!, 1]) as tf.Tensor4D);
    const [, oh, ow] = (dy as T).shape as number[];
    const perOffset = tf.reshape(tf.transpose(tf.reshape(filter!, [k, c!])), [1, c!, 1, 1, k]);
    const scores = tf.add(tf.reshape(tf.sub(windows(fold(x!)), tf.mul(tf.sub(1, inImage), 1e30)), [n!, c!, oh!, ow!, k]), perOffset);
    const eq = tf.cast(tf.equal(scores, tf.max(scores, -1, true)), 'float32');
    const first = tf.mul(eq, tf.cast(tf.equal(tf.cumsum(eq, 4, true), 0), 'float32'));
    const routed = () => tf.mul(first, tf.reshape(tf.transpose(dy as T, [0, 3, 1, 2]), [n!, c!, oh!, ow!, 1]));
    return {
      x: () => {
        const back = tf.conv2dTranspose(tf.reshape(routed(), [n! * c!, oh!, ow!, k]) as tf.Tensor4D, eye, [n! * c!, h!, w!, 1], a.strides, a.pad);
        return tf.transpose(tf.reshape(back, [n!, c!, h!, w!]), [0, 2, 3, 1]);
      },
      filter: () => tf.transpose(tf.reshape(tf.sum(routed(), [0, 2, 3]), [c!, fh!, fw!]), [1, 2, 0]),
    };
  },
};

// DepthToSpace (pixel shuffle) has no gradient in tfjs 4.22. It only moves values:
// y[b, i·s + di, j·s + dj, c] = x[b, i, j, (di·s + dj)·C + c], so dx gathers dy back (NHWC).
const depthToSpaceGrad: GradConfig = {
  kernelName: 'DepthToSpace',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { blockSize: bs, dataFormat } = attrs as unknown as { blockSize: number; dataFormat: string };
    if (dataFormat !== 'NHWC') throw new Error(`depthToSpace gradient: dataFormat ${dataFormat} is not supported (use NHWC)`);
    const [n, h, w, c] = x!.shape as number[];
    return {
      x: () => tf.reshape(tf.transpose(tf.reshape(dy as T, [n!, h!, bs, w!, bs, c! / (bs * bs)]), [0, 1, 3, 2, 4, 5]), x!.shape),
    };
  },
};

// TopK has no gradient in tfjs 4.22: each value's gradient goes to the entry it was taken from
// (the indices are piecewise constant, so saving that output is harmless at any order).
const topKGrad: GradConfig = {
  kernelName: 'TopK',
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dys, [x, indices]) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as T;
    const n = x!.shape[x!.rank - 1]!;
    return { x: () => tf.sum(tf.mul(tf.oneHot(indices as tf.Tensor, n), tf.expandDims(dy, -1)), -2) };
  },
};

// Einsum has no gradient in tfjs 4.22. For an input with subscripts S (at most two inputs, no
// repeated letter, as tfjs allows), the gradient is dy contracted with the other input onto the
// letters of S that dy or the other input carries, broadcast along the letters summed in S alone.
const einsumGrad: GradConfig = {
  kernelName: 'Einsum',
  saveAllInputs: true,
  gradFunc: (dy, saved, attrs) => {
    const eq = (attrs as unknown as { equation: string }).equation.replace(/\s/g, '');
    const [ins, out] = eq.split('->') as [string, string];
    const terms = ins.split(',');
    const used = new Set(eq);
    const fresh = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].find((l) => !used.has(l))!;
    // A scalar dy gets a size-1 axis of its own (tfjs parses no empty subscripts).
    const [g, gOut] = out === '' ? [tf.reshape(dy as T, [1]), fresh] : [dy as T, out];
    return Object.fromEntries(
      terms.map((term, i) => [
        String(i),
        () => {
          const other = terms.length === 2 ? terms[1 - i]! : '';
          const keep = [...term].filter((l) => gOut.includes(l) || other.includes(l)).join('');
          const inputs = other ? [g, saved[1 - i]!] : [g];
          const c = tf.einsum(`${other ? `${gOut},${other}` : gOut}->${keep}`, ...inputs);
          const x = saved[i]!;
          const spread = tf.reshape(c, [...term].map((l, k) => (keep.includes(l) ? x.shape[k]! : 1)));
          return keep.length === term.length ? spread : tf.mul(spread, tf.onesLike(x));
        },
      ]),
    );
  },
};

// MirrorPad: tfjs 4.22's gradient only slices out the centre of dy, dropping every reflected copy
// (wrong already at first order). Fold each padded border back onto the entries it copies, one
// axis at a time: reflect copies x[before - p] to border position p, symmetric x[before - 1 - p].
const mirrorPadGrad: GradConfig = {
  kernelName: 'MirrorPad',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { paddings, mode } = attrs as unknown as { paddings: Array<[number, number]>; mode: 'reflect' | 'symmetric' };
    const off = mode === 'reflect' ? 1 : 0;
    return {
      x: () => {
        let g = dy as T;
        paddings.forEach(([before, after], axis) => {
          if (before === 0 && after === 0) return;
          const n = x!.shape[axis]!;
          const part = (start: number, size: number) => {
            const begin = g.shape.map((_, i) => (i === axis ? start : 0));
            return tf.slice(g, begin, g.shape.map((d, i) => (i === axis ? size : d)));
          };
          const padAlong = (t: T, lo: number, hi: number) => tf.pad(t, t.shape.map((_, i): [number, number] => (i === axis ? [lo, hi] : [0, 0])));
          const terms = [part(before, n)];
          if (before > 0) terms.push(padAlong(tf.reverse(part(0, before), axis), off, n - before - off));
          if (after > 0) terms.push(padAlong(tf.reverse(part(before + n, after), axis), n - after - off, off));
          g = terms.length === 1 ? terms[0]! : tf.addN(terms);
        });
        return g;
      },
    };
  },
};

// LRN: the stock gradient is the LRNGrad kernel fed the saved output (disconnected at second
// order) and LRNGrad has no gradient. With s = bias + α·W(x²), W the clipped window sum over
// channels (self-adjoint): y = x·s^−β and dx = dy·s^−β − 2αβ·x·W(dy·x·s^(−β−1)), all in ops.
const lrnGrad: GradConfig = {
  kernelName: 'LRN',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { depthRadius: r, bias, alpha, beta } = attrs as unknown as { depthRadius: number; bias: number; alpha: number; beta: number };
    const windowSum = (v: T): T => {
      const d = v.shape[v.rank - 1]!;
      const padded = tf.pad(v, v.shape.map((_, i): [number, number] => (i === v.rank - 1 ? [r, r] : [0, 0])));
      const begin = (k: number) => v.shape.map((_, i) => (i === v.rank - 1 ? k : 0));
      const size = v.shape.map((n, i) => (i === v.rank - 1 ? d : n));
      return tf.addN(Array.from({ length: 2 * r + 1 }, (_, k) => tf.slice(padded, begin(k), size)));
    };
    return {
      x: () => {
        const s = tf.add(tf.mul(windowSum(tf.square(x!)), alpha), bias);
        const inner = windowSum(tf.mul(tf.mul(dy as T, x!), tf.pow(s, -beta - 1)));
        return tf.sub(tf.mul(dy as T, tf.pow(s, -beta)), tf.mul(tf.mul(x!, inner), 2 * alpha * beta));
      },
    };
  },
};

// Cumsum: tfjs 4.22's gradient transposes its (already correctly laid out) result whenever the
// axis is not the last one: a shape error, or a silently transposed gradient for square inputs.
const cumsumGrad: GradConfig = {
  kernelName: 'Cumsum',
  gradFunc: (dy, _saved, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return { x: () => tf.cumsum(dy as T, axis, exclusive, !reverse) };
  },
};

// Cumprod has no gradient in tfjs 4.22, and Prod's gradient is written with it, so tf.prod and
// tf.cumprod stop at first order. TensorFlow's formula, with y recomputed from x (not saved):
// dx = cumsum(dy·y, reversed direction) / x. Like TensorFlow's, it is NaN where x = 0.
const cumprodGrad: GradConfig = {
  kernelName: 'Cumprod',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return {
      x: () => {
        const y = tf.cumprod(x!, axis, exclusive, reverse);
        return tf.div(tf.cumsum(tf.mul(dy as T, y), axis, exclusive, !reverse), x!);
      },
    };
  },
};

// Comparisons and logical ops are piecewise constant: zero gradient (several tfjs gradients use
// them on the differentiated path, e.g. max's and leakyRelu's).
const zeroGrad = (kernelName: string, inputs: string[]): GradConfig => ({
  kernelName,
  inputsToSave: inputs,
  // float32 even for bool / int inputs: the tape rejects gradients of any other dtype.
  gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((n, i) => [n, () => tf.zeros(saved[i]!.shape, 'float32')])),
});

const binaryInputs = ['a', 'b'];
export const ZERO_GRADIENT_KERNELS = [
  'Equal', 'Greater', 'Less', 'LessEqual', 'NotEqual', 'GreaterEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor',
] as const;

/** Every registration, in install order. */
export const SECOND_ORDER_GRADIENTS: readonly GradConfig[] = [
  tanhGrad,
  sigmoidGrad,
  expGrad,
  eluGrad,
  softmaxGrad,
  logSoftmaxGrad,
  powGrad,
  minMaxGrad('Max', 'reductionIndices'),
  minMaxGrad('Min', 'axis'),
  maxPoolGrad,
  maxPoolGradGrad,
  avgPoolGrad,
  avgPoolGradGrad,
  maxPool3DGrad,
  avgPool3DGrad,
  eluGradGrad,
  conv2DBackpropFilterGrad,
  conv3DBackpropInputGrad,
  conv3DBackpropFilterGrad,
  depthwiseBackpropFilterGrad,
  depthwiseBackpropInputGrad,
  resizeGrad('ResizeBilinear', tf.image.resizeBilinear, 'ResizeBilinearGrad'),
  resizeGrad('ResizeNearestNeighbor', tf.image.resizeNearestNeighbor as typeof tf.image.resizeBilinear, 'ResizeNearestNeighborGrad'),
  resizeGradGrad('ResizeBilinearGrad', tf.image.resizeBilinear),
  resizeGradGrad('ResizeNearestNeighborGrad', tf.image.resizeNearestNeighbor as typeof tf.image.resizeBilinear),
  stridedSliceGrad,
  gatherNdGrad,
  scatterNdGrad,
  tileGrad,
  batchMatMulGrad,
  conv2DGrad,
  depthwiseGrad,
  depthToSpaceGrad,
  topKGrad,
  dilation2DGrad,
  einsumGrad,
  mirrorPadGrad,
  lrnGrad,
  cumsumGrad,
  cumprodGrad,
  ...ZERO_GRADIENT_KERNELS.map((k) => zeroGrad(k, binaryInputs)),
  zeroGrad('LogicalNot', ['x']),
];

export type { NamedAttrMap };

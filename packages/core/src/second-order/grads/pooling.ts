// Pooling, 2-D and 3-D: the pool gradients, and gradients for the gradient kernels.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T, run, pair } from './util.js';

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

/** Windows with their out-of-image positions ('same' padding; `valid` 0 there) pushed far below
 * any value, so that they never win a maximum. */
export const maskOutside = (windows: T, valid: T): T => tf.sub(windows, tf.mul(tf.sub(1, valid), 1e30));

/** One-hot of the first maximum along the last axis (the one the MaxPoolGrad kernels pick); no gradient. */
export function firstMaximum(p: T): T {
  const eq = tf.cast(tf.equal(p, tf.max(p, -1, true)), 'float32');
  // (tf.cumsum needs a non-negative axis: -1 silently permutes the wrong way.)
  return tf.mul(eq, tf.cast(tf.equal(tf.cumsum(eq, p.rank - 1, true), 0), 'float32'));
}

/** One-hot (first maximum) over each window of x; no gradient. */
function maxPoolArgmaxMask(x: T, a: PoolAttrs): T {
  const [, h, w] = x.shape as [number, number, number, number];
  return firstMaximum(maskOutside(patches(x, a), patches(tf.ones([1, h, w, 1]), a)));
}

export const maxPoolGrad: GradConfig = {
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
export const maxPoolGradGrad: GradConfig = {
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
export const avgPoolGrad: GradConfig = {
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
export const avgPoolGradGrad: GradConfig = {
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

export const maxPool3DGrad: GradConfig = {
  kernelName: 'MaxPool3D',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as Pool3DAttrs;
    return {
      x: () => {
        const p3 = pool3dWindows(a, 'maxPool3d');
        // Out-of-image positions never win; the first maximum of each window takes dy.
        const first = firstMaximum(maskOutside(p3.windows(x!), p3.windows(p3.inImage(x!))));
        return p3.scatter(tf.mul(first, p3.fold(dy as T)), p3.eye(), x!);
      },
    };
  },
};

export const avgPool3DGrad: GradConfig = {
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

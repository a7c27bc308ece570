// Activations whose stock gradients use the op's saved *output*, which is disconnected at second
// order (the engine's clone of an output is taped before the op that produced it): re-registered
// to save the *input* and recompute. Plus the gradients of EluGrad and of LRN.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T, engine, axesOf, keepDimShape } from './util.js';

// These three also save their output, for the one case where the disconnected saved output is
// exact: a backward that nothing records (no outer tape, engine gradientDepth 0: the outermost
// gradient of a meta-step), which then skips recomputing the op. The value is the same tensor the
// forward made, so the gradient is bit for bit the recomputed one.
const recorded = (): boolean => (engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
/** The op's output for a gradient: the saved one when nothing records this backward, else recomputed from x. */
const outputOf = (saved: T[], recompute: (x: T) => T): T => (recorded() ? recompute(saved[0]!) : saved[1]!);

export const tanhGrad: GradConfig = {
  kernelName: 'Tanh',
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as T, tf.sub(1, tf.square(outputOf(saved, tf.tanh)))) }),
};

export const sigmoidGrad: GradConfig = {
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

export const expGrad: GradConfig = {
  kernelName: 'Exp',
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as T, outputOf(saved, tf.exp)) }),
};

// elu'(x) = 1 for x > 0, exp(x) otherwise = exp(min(x, 0)): no overflowing branch, no where().
export const eluGrad: GradConfig = {
  kernelName: 'Elu',
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as T, tf.exp(tf.minimum(x!, 0))) }),
};

export const softmaxGrad: GradConfig = {
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
export const logSoftmaxGrad: GradConfig = {
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

export const powGrad: GradConfig = {
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

export function minMaxGrad(kernelName: 'Max' | 'Min', axisAttr: 'reductionIndices' | 'axis'): GradConfig {
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

// EluGrad(dy, y) = dy * (y > 0 ? 1 : y + 1) (the kernels test y >= 0).
export const eluGradGrad: GradConfig = {
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

// LRN: the stock gradient is the LRNGrad kernel fed the saved output (disconnected at second
// order) and LRNGrad has no gradient. With s = bias + α·W(x²), W the clipped window sum over
// channels (self-adjoint): y = x·s^−β and dx = dy·s^−β − 2αβ·x·W(dy·x·s^(−β−1)), all in ops.
export const lrnGrad: GradConfig = {
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

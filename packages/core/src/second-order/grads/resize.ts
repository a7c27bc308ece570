// Resizing.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T, run } from './util.js';

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
  size: [number, number];
}

// Resize*Grad(dy) is the adjoint of the forward resize, so the forward resize (to dy's size) is
// the adjoint of the gradient kernel.
export function resizeGradGrad(kernelName: string, forward: typeof tf.image.resizeBilinear): GradConfig {
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
export function resizeGrad(kernelName: string, forward: typeof tf.image.resizeBilinear, gradKernel: string): GradConfig {
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

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
// One file per family in grads/; this file lists every registration, in install order.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';
import { eluGrad, eluGradGrad, expGrad, logSoftmaxGrad, lrnGrad, minMaxGrad, powGrad, sigmoidGrad, softmaxGrad, tanhGrad } from './grads/activations.js';
import { avgPool3DGrad, avgPoolGrad, avgPoolGradGrad, maxPool3DGrad, maxPoolGrad, maxPoolGradGrad } from './grads/pooling.js';
import {
  conv2DBackpropFilterGrad, conv2DGrad, conv3DBackpropFilterGrad, conv3DBackpropInputGrad, depthwiseBackpropFilterGrad,
  depthwiseBackpropInputGrad, depthwiseGrad, dilation2DGrad,
} from './grads/conv.js';
import { resizeGrad, resizeGradGrad } from './grads/resize.js';
import {
  cumprodGrad, cumsumGrad, depthToSpaceGrad, gatherNdGrad, mirrorPadGrad, scatterNdGrad, stridedSliceGrad, tileGrad, topKGrad,
} from './grads/indexing.js';
import { batchMatMulGrad, einsumGrad } from './grads/linalg.js';
import { comparisonGrads } from './grads/comparisons.js';

export { ZERO_GRADIENT_KERNELS } from './grads/comparisons.js';

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
  ...comparisonGrads(),
];

export type { NamedAttrMap };

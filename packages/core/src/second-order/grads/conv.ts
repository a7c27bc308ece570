// Convolutions: gradients for the backprop kernels (none in tfjs), and the gradients of dilated,
// depthwise and morphological convolutions that the stock ones refuse.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T, run, pair } from './util.js';
import { firstMaximum, maskOutside } from './pooling.js';

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
export const conv2DBackpropFilterGrad: GradConfig = {
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

export const conv3DBackpropInputGrad: GradConfig = {
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

export const conv3DBackpropFilterGrad: GradConfig = {
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
export const depthwiseBackpropFilterGrad: GradConfig = {
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

export const depthwiseBackpropInputGrad: GradConfig = {
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

// Conv2D: tfjs 4.22 refuses dilation > 1 in the gradient (even first order). A dilated conv is the
// plain conv with the filter's taps spread out by zeros, so differentiate that: the input gradient
// uses the spread filter, and the filter gradient keeps every d-th tap of the spread one.
function spreadFilter(w: T, dh: number, dw: number): T {
  const [kh, kw, ci, co] = w.shape as number[];
  const r = tf.pad(tf.reshape(w, [kh!, 1, kw!, 1, ci!, co!]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(r, [kh! * dh, kw! * dw, ci!, co!]), [0, 0, 0, 0], [(kh! - 1) * dh + 1, (kw! - 1) * dw + 1, ci!, co!]);
}

/** The gradient of a 2-D conv kernel (Conv2D, DepthwiseConv2dNative) through its backprop kernels. */
function dilatableConvGrad(kernelName: string, backprop: string, attrsOf: (a: ConvAttrs) => object): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const a = attrs as unknown as ConvAttrs;
      const [dh, dw] = pair(a.dilations ?? 1);
      const w = dh === 1 && dw === 1 ? filter! : spreadFilter(filter!, dh, dw);
      const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, ...attrsOf(a) };
      return {
        x: () => run(`${backprop}Input`, { dy: dy as T, filter: w }, { ...common, inputShape: x!.shape }),
        filter: () => {
          const g = run(`${backprop}Filter`, { x: x!, dy: dy as T }, { ...common, filterShape: w.shape });
          return dh === 1 && dw === 1 ? g : tf.stridedSlice(g, [0, 0, 0, 0], w.shape, [dh, dw, 1, 1]);
        },
      };
    },
  };
}

export const conv2DGrad = dilatableConvGrad('Conv2D', 'Conv2DBackprop', (a) => ({ dataFormat: a.dataFormat }));
// DepthwiseConv2dNative: as Conv2D, the stock gradient refuses dilation > 1; same cure.
export const depthwiseGrad = dilatableConvGrad('DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackprop', () => ({ dilations: [1, 1] }));

// Dilation2D (grayscale morphology): its backprop kernels have no gradients in tfjs 4.22. Written
// with the windows instead: y = max over the window of x + filter, so dy goes to each window's
// first maximum; dx scatters it back (the adjoint conv), dfilter sums it per offset and channel.
export const dilation2DGrad: GradConfig = {
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
    const scores = tf.add(tf.reshape(maskOutside(windows(fold(x!)), inImage), [n!, c!, oh!, ow!, k]), perOffset);
    const first = firstMaximum(scores);
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

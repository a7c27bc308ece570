// Which kernels does a computation use, and is each one's gradient checked to second order?
// traceKernels wraps the engine's runKernel (every op and every gradient goes through it), so
// a meta-step traced this way lists forward, backward and backward-of-backward kernels alike.
import { engine } from '@tensorflow/tfjs-core';

/** Starts recording kernel names into `kernels`; returns the function that stops it. */
function startTrace(kernels: Set<string>): () => void {
  const e = engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = e.runKernel;
  e.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    kernels.add(name);
    return original.call(this, name, ...rest);
  };
  return () => {
    e.runKernel = original;
  };
}

/** Runs fn and returns its result with the set of kernel names it dispatched. */
export function traceKernels<R>(fn: () => R): { result: R; kernels: Set<string> } {
  const kernels = new Set<string>();
  const stop = startTrace(kernels);
  try {
    return { result: fn(), kernels };
  } finally {
    stop();
  }
}

/** Async variant (the trace also sees kernels of other work interleaved while fn awaits). */
export async function traceKernelsAsync<R>(fn: () => Promise<R>): Promise<{ result: R; kernels: Set<string> }> {
  const kernels = new Set<string>();
  const stop = startTrace(kernels);
  try {
    return { result: await fn(), kernels };
  } finally {
    stop();
  }
}

// Kernels run under the finite-difference meta-gradient checks (fixes.test.ts) ...
const IN_FIXES_TEST = [
  'Pack', 'Unpack', 'SquaredDifference', 'Rsqrt',
  'Abs', 'Add', 'AddN', 'AvgPool', 'AvgPoolGrad', 'BatchMatMul', 'Cast', 'Concat', 'Conv2D',
  'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Cos', 'Cumsum', 'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Elu', 'EluGrad', 'Equal',
  'Exp', 'ExpandDims', 'GatherNd', 'GatherV2', 'Greater', 'GreaterEqual', 'Identity', 'LeakyRelu', 'Less',
  'LessEqual', 'Log', 'LogicalAnd', 'LogicalNot', 'Max', 'MaxPool', 'MaxPoolGrad', 'Maximum', 'Mean', 'Min',
  'Minimum', 'Multiply', 'Neg', 'OnesLike', 'PadV2', 'Pow', 'RealDiv', 'Relu', 'Reshape', 'ResizeBilinear',
  'ResizeBilinearGrad', 'ResizeNearestNeighbor', 'ResizeNearestNeighborGrad', 'Reverse', 'ScatterNd',
  'Select', 'Sigmoid', 'Sin', 'Slice', 'Softmax', 'Softplus', 'SplitV', 'Sqrt', 'Square', 'Step',
  'StridedSlice', 'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose', 'UnsortedSegmentSum', 'ZerosLike',
  // Ops users reach for in their own embeddings and predictors.
  'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atan2', 'Atanh', 'AvgPool3D', 'Ceil', 'ClipByValue', 'Conv3D',
  'Conv3DBackpropFilterV2', 'Conv3DBackpropInputV2', 'Cosh', 'Cumprod', 'DepthToSpace', 'Dilation2D',
  'Einsum', 'Erf', 'Expm1', 'Floor', 'FusedBatchNorm', 'LRN', 'Log1p', 'MaxPool3D', 'MirrorPad', 'OneHot',
  'Prelu', 'Prod', 'Reciprocal', 'Relu6', 'Round', 'Selu', 'Sign', 'Sinh', 'Tan', 'TopK',
];
// ... and under the golden float64 meta-gradients (golden.test.ts).
const IN_GOLDEN_TEST = [
  'Add', 'AddN', 'BatchMatMul', 'Cast', 'Concat', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput',
  'Cos', 'Elu', 'Exp', 'GatherV2', 'Identity', 'LessEqual', 'Mean', 'Minimum', 'Multiply', 'Neg', 'RealDiv',
  'Relu', 'Reshape', 'Sigmoid', 'Sin', 'Softplus', 'SplitV', 'Sqrt', 'Square', 'Step', 'Sub', 'Sum', 'Tanh',
  'ZerosLike',
];

/**
 * Kernels whose gradients are checked to second order (value: the tests that check them, in
 * packages/core/test/second-order/). Each test file asserts that every kernel it is credited with
 * here is actually exercised in it, and that it uses no kernel missing from this table.
 */
export const SECOND_ORDER_CHECKED: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    [...new Set([...IN_FIXES_TEST, ...IN_GOLDEN_TEST])]
      .sort()
      .map((k) => [k, [IN_FIXES_TEST.includes(k) && 'fixes.test', IN_GOLDEN_TEST.includes(k) && 'golden.test'].filter(Boolean).join(', ')]),
  ),
);

/** The kernels of `kernels` without a second-order-checked gradient. */
export function uncheckedKernels(kernels: Iterable<string>): string[] {
  return [...new Set(kernels)].filter((k) => !(k in SECOND_ORDER_CHECKED)).sort();
}

/** Traces fn and lists the kernels it used that no second-order test covers. */
export function auditSecondOrder<R>(fn: () => R): { result: R; kernels: string[]; unchecked: string[] } {
  const { result, kernels } = traceKernels(fn);
  return { result, kernels: [...kernels].sort(), unchecked: uncheckedKernels(kernels) };
}


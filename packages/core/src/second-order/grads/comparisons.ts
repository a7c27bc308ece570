// Comparisons and logical ops are piecewise constant: zero gradient (several tfjs gradients use
// them on the differentiated path, e.g. max's and leakyRelu's).
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';

export const zeroGrad = (kernelName: string, inputs: string[]): GradConfig => ({
  kernelName,
  inputsToSave: inputs,
  // float32 even for bool / int inputs: the tape rejects gradients of any other dtype.
  gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((n, i) => [n, () => tf.zeros(saved[i]!.shape, 'float32')])),
});

const binaryInputs = ['a', 'b'];
export const ZERO_GRADIENT_KERNELS = [
  'Equal', 'Greater', 'Less', 'LessEqual', 'NotEqual', 'GreaterEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor',
] as const;

/** Zero gradients for every comparison and logical op. */
export const comparisonGrads = (): GradConfig[] => [...ZERO_GRADIENT_KERNELS.map((k) => zeroGrad(k, binaryInputs)), zeroGrad('LogicalNot', ['x'])];

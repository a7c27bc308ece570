// tf.customGrad ops (tf.logSigmoid, tf.logSoftmax, tf.losses.softmaxCrossEntropy, users' own) are
// wrong or throw at second order in tfjs 4.22: their gradient reads tensors of the forward pass, a
// saved output (disconnected on the tape, like Tanh's) or a closed-over input (freed by then).
// The same cure as for the kernels: save the inputs, and in the backward run the forward function
// again on them, recorded, and take the gradient function of that run. Costs one more forward per
// customGrad op in a backward; a forward with side effects would repeat them.
import { Tensor, engine, util } from '@tensorflow/tfjs-core';

type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];
type CustomFn = (...args: Array<Tensor | ((ts: Tensor[]) => void)>) => { value: Tensor; gradFunc: GradFunc };
type EngineInternals = {
  customGrad: (f: CustomFn) => (...inputs: Tensor[]) => Tensor;
  runKernelFunc(args: {
    forwardFunc: (backend: unknown, save: (ts: Tensor[]) => void) => Tensor;
    backwardsFunc: (dy: Tensor, saved: Tensor[]) => Record<number, () => Tensor>;
    inputs: Record<number, Tensor>;
  }): Tensor;
};

let installed = false;

export function installRecomputingCustomGrad(): void {
  if (installed) return;
  const e = engine() as unknown as EngineInternals;
  e.customGrad = function (this: EngineInternals, f: CustomFn) {
    util.assert(typeof f === 'function', () => 'The f passed in customGrad(f) must be a function.');
    return (...inputs: Tensor[]) => {
      util.assert(inputs.every((t) => t instanceof Tensor), () => 'The args passed in customGrad(f)(x1, x2,...) must all be tensors');
      const run = (args: Tensor[], save: (ts: Tensor[]) => void) => {
        const res = f(...args, save);
        util.assert(res.value instanceof Tensor, () => 'The function f passed in customGrad(f) must return an object where `obj.value` is a tensor');
        util.assert(typeof res.gradFunc === 'function', () => 'The function f passed in customGrad(f) must return an object where `obj.gradFunc` is a function.');
        return res;
      };
      return this.runKernelFunc({
        inputs: Object.fromEntries(inputs.map((t, i) => [i, t])),
        forwardFunc: (_backend, save) => {
          save(inputs);
          return run(inputs, () => {}).value;
        },
        backwardsFunc: (dy, saved) => {
          let theirs: Tensor[] = [];
          const again = run(saved, (ts) => (theirs = ts));
          const g = again.gradFunc(dy, theirs);
          const grads = Array.isArray(g) ? g : [g];
          util.assert(grads.length === inputs.length && grads.every((t) => t instanceof Tensor),
            () => 'The function f passed in customGrad(f) must return an object where `obj.gradFunc` is a function that returns as many tensors as inputs passed to f(...).');
          return Object.fromEntries(grads.map((t, i) => [i, () => t]));
        },
      });
    };
  };
  installed = true;
}

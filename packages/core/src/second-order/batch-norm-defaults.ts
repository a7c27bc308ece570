// tf.batchNorm(x, mean, variance) without scale or offset passes them to the FusedBatchNorm kernel
// as undefined. The kernel copes, but the engine does not: saving the gradient's inputs clones
// `scale` (tfjs 4.22 throws "Cannot read properties of undefined (reading 'dataId')" whenever a
// gradient is being recorded, even at first order). Filling in scale = 1 and offset = 0 is exact.
import { engine, ones, zeros, type Tensor } from '@tensorflow/tfjs-core';

type RunKernel = (name: string, inputs: Record<string, Tensor | undefined>, attrs?: object) => unknown;
type EngineInternals = { runKernel: RunKernel; state: { activeTape: unknown[] | null } };

let installed = false;

export function installBatchNormDefaults(): void {
  if (installed) return;
  const e = engine() as unknown as EngineInternals;
  const original = e.runKernel;
  e.runKernel = function (this: unknown, name, inputs, attrs) {
    if (name !== 'FusedBatchNorm' || (inputs['scale'] != null && inputs['offset'] != null)) return original.call(this, name, inputs, attrs);
    const shape = inputs['mean']!.shape;
    const made: Tensor[] = [];
    const fill = (t: Tensor | undefined, make: () => Tensor) => t ?? (made.push(make()), made[made.length - 1]!);
    const out = original.call(this, name, { ...inputs, scale: fill(inputs['scale'], () => ones(shape)), offset: fill(inputs['offset'], () => zeros(shape)) }, attrs);
    // While a gradient is recorded the tape refers to them; the enclosing scope frees them then.
    if (e.state.activeTape == null) made.forEach((t) => t.dispose());
    return out;
  };
  installed = true;
}

// A multilayer perceptron as a pure function over a parameter record:
// layers are `l{i}/w` [in, out] and optional `l{i}/b` [out].
import { tf } from '../tf.js';
import type { Params } from '../params.js';
import { Rng } from '../rng.js';
import { glorotUniform, orthogonal, zeros } from './init.js';
import { activate, type Activation } from './activations.js';

export interface MlpSpec {
  sizes: number[];
  activation: Activation;
  /** Bias on the last layer (HNN's MLP has none). */
  lastBias?: boolean;
  init?: 'glorot' | 'orthogonal';
}

export function initMlp(spec: MlpSpec, seed: number): Params {
  const rng = new Rng(seed);
  const p: Params = {};
  for (let i = 0; i + 1 < spec.sizes.length; i++) {
    const shape: [number, number] = [spec.sizes[i]!, spec.sizes[i + 1]!];
    p[`l${i}/w`] = spec.init === 'orthogonal' ? orthogonal(rng, shape) : glorotUniform(rng, shape);
    const last = i + 2 === spec.sizes.length;
    if (!last || spec.lastBias !== false) p[`l${i}/b`] = zeros([shape[1]]);
  }
  return p;
}

/** x [B, sizes[0]] → [B, sizes[last]]; the activation applies between layers only. */
export function mlp(spec: MlpSpec, p: Params, x: tf.Tensor): tf.Tensor {
  let h = x;
  const n = spec.sizes.length - 1;
  for (let i = 0; i < n; i++) {
    h = tf.matMul(h as tf.Tensor2D, p[`l${i}/w`] as tf.Tensor2D);
    const b = p[`l${i}/b`];
    if (b) h = tf.add(h, b);
    if (i + 1 < n) h = activate(spec.activation, h);
  }
  return h;
}

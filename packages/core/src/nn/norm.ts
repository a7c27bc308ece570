// Normalisation layers written with elementary ops (mean, sub, rsqrt, mul), so they are
// differentiable to any order. A norm layer `name` reads `${name}/scale` and `${name}/offset` [C].
// Conditional normalisation (CN, for CNGRAD tailoring) then applies per-example γ, β [B, C].
import { tf } from '../tf.js';
import type { Params } from '../params.js';
import { Rng, randomNormal } from '../rng.js';

export type NormKind = 'batch' | 'group';
export const NORM_KINDS: readonly NormKind[] = ['batch', 'group'];
export const NORM_EPS = 1e-5;

/** Norm affine parameters: scale ~ N(1, 0.02) (DCGAN/SVG init), offset 0. */
export function initNorm(rng: Rng, name: string, channels: number, std = 0.02): Params {
  return { [`${name}/scale`]: randomNormal(rng, [channels], std, 1), [`${name}/offset`]: tf.zeros([channels]) };
}

function normalize(x: tf.Tensor, axes: number[], eps: number): tf.Tensor {
  const mean = tf.mean(x, axes, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axes, true); // biased, as PyTorch normalises
  return tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
}

function affine(x: tf.Tensor, scale?: tf.Tensor, offset?: tf.Tensor): tf.Tensor {
  let y = x;
  if (scale) y = tf.mul(y, scale);
  if (offset) y = tf.add(y, offset);
  return y;
}

/** GroupNorm(1, C) — the "layer norm" of the paper: statistics per example over every axis but
 * the batch axis, affine per channel (last axis). */
export function groupNorm1(x: tf.Tensor, scale?: tf.Tensor, offset?: tf.Tensor, eps = NORM_EPS): tf.Tensor {
  const axes = [...Array(x.rank).keys()].slice(1);
  return affine(normalize(x, axes, eps), scale, offset);
}

/** Batch norm in training mode (batch statistics over every axis but the channel axis; no running
 * averages), with explicit scale and offset. */
export function batchNormTrain(x: tf.Tensor, scale?: tf.Tensor, offset?: tf.Tensor, eps = NORM_EPS): tf.Tensor {
  const axes = [...Array(x.rank - 1).keys()];
  return affine(normalize(x, axes, eps), scale, offset);
}

/** The norm layer `name` of the given kind. */
export function norm(kind: NormKind, p: Params, name: string, x: tf.Tensor): tf.Tensor {
  const scale = p[`${name}/scale`];
  const offset = p[`${name}/offset`];
  if (!scale || !offset) throw new Error(`norm parameters '${name}/scale' and '${name}/offset' not found`);
  return kind === 'batch' ? batchNormTrain(x, scale, offset) : groupNorm1(x, scale, offset);
}

/** Conditional normalisation: x·γ + β with per-example γ, β [B, C] broadcast over the spatial
 * axes of x [B, ..., C]. */
export function conditionalNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const [B, C] = gamma.shape as [number, number];
  if (x.shape[0] !== B || x.shape[x.rank - 1] !== C) {
    throw new Error(`conditional-norm γ/β of shape [${gamma.shape}] do not match activations [${x.shape}] (batch and channels must agree)`);
  }
  const shape = [B, ...Array(x.rank - 2).fill(1), C];
  return tf.add(tf.mul(x, tf.reshape(gamma, shape)), tf.reshape(beta, shape));
}

/** Fresh CN parameters for one layer: `${name}/gamma` ones, `${name}/beta` zeros, both [B, C]. */
export function initConditionalNorm(name: string, batchSize: number, channels: number): Params {
  return { [`${name}/gamma`]: tf.ones([batchSize, channels]), [`${name}/beta`]: tf.zeros([batchSize, channels]) };
}

/** Applies the CN layer `name` if its γ, β are in p, else the identity. */
export function maybeConditionalNorm(p: Params, name: string, x: tf.Tensor): tf.Tensor {
  const g = p[`${name}/gamma`];
  const b = p[`${name}/beta`];
  if (!g && !b) return x;
  if (!g || !b) throw new Error(`conditional-norm layer '${name}' needs both gamma and beta`);
  return conditionalNorm(x, g, b);
}

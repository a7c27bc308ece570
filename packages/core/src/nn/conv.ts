// Convolutions and dense layers as pure functions over flat Params. A layer named `name` reads
// `${name}/w` and, when present, `${name}/b`. Images are NHWC.
import { tf } from '../tf.js';
import type { Params } from '../params.js';
import { Rng } from '../rng.js';
import { randomNormal, randomUniform } from '../rng.js';

export type Padding = 'same' | 'valid';

export interface ConvOptions {
  stride?: number;
  pad?: Padding;
}

/** How layer weights are drawn: N(0, std) (DCGAN/SVG: std 0.02, biases 0) or PyTorch's default
 * U(±1/√fanIn) for weights and biases. */
export type WeightInit = { kind: 'normal'; std: number } | { kind: 'fanIn' };
export const DCGAN_INIT: WeightInit = { kind: 'normal', std: 0.02 };

function draw(rng: Rng, shape: number[], fanIn: number, init: WeightInit): tf.Tensor {
  if (init.kind === 'normal') return randomNormal(rng, shape, init.std);
  const lim = 1 / Math.sqrt(fanIn);
  return randomUniform(rng, shape, -lim, lim);
}

function biasInit(rng: Rng, n: number, fanIn: number, init: WeightInit): tf.Tensor {
  return init.kind === 'normal' ? tf.zeros([n]) : draw(rng, [n], fanIn, init);
}

/** Conv weights `${name}/w` [kh, kw, inC, outC] and bias `${name}/b` [outC]. */
export function initConv2d(
  rng: Rng, name: string, k: number, inC: number, outC: number, o: { bias?: boolean; init?: WeightInit } = {},
): Params {
  const init = o.init ?? DCGAN_INIT;
  const p: Params = { [`${name}/w`]: draw(rng, [k, k, inC, outC], k * k * inC, init) };
  if (o.bias !== false) p[`${name}/b`] = biasInit(rng, outC, k * k * inC, init);
  return p;
}

/** Transposed-conv weights `${name}/w` [kh, kw, outC, inC] (tf.conv2dTranspose's layout), bias [outC]. */
export function initConv2dTranspose(
  rng: Rng, name: string, k: number, inC: number, outC: number, o: { bias?: boolean; init?: WeightInit } = {},
): Params {
  const init = o.init ?? DCGAN_INIT;
  // PyTorch computes the fan-in of a transposed conv from weight dim 1 (its out channels) × k².
  const p: Params = { [`${name}/w`]: draw(rng, [k, k, outC, inC], k * k * outC, init) };
  if (o.bias !== false) p[`${name}/b`] = biasInit(rng, outC, k * k * outC, init);
  return p;
}

/** Dense weights `${name}/w` [in, out] and bias `${name}/b` [out]. */
export function initDense(rng: Rng, name: string, inDim: number, outDim: number, o: { bias?: boolean; init?: WeightInit } = {}): Params {
  const init = o.init ?? DCGAN_INIT;
  const p: Params = { [`${name}/w`]: draw(rng, [inDim, outDim], inDim, init) };
  if (o.bias !== false) p[`${name}/b`] = biasInit(rng, outDim, inDim, init);
  return p;
}

function weight(p: Params, name: string): tf.Tensor {
  const w = p[`${name}/w`];
  if (!w) throw new Error(`parameter '${name}/w' not found`);
  return w;
}

function addBias(p: Params, name: string, y: tf.Tensor): tf.Tensor {
  const b = p[`${name}/b`];
  return b ? tf.add(y, b) : y;
}

/** x [B, H, W, inC] → [B, H', W', outC]. 'same' keeps ⌈H/stride⌉; 'valid' gives ⌊(H−k)/stride⌋+1. */
export function conv2d(p: Params, name: string, x: tf.Tensor, o: ConvOptions = {}): tf.Tensor4D {
  const y = tf.conv2d(x as tf.Tensor4D, weight(p, name) as tf.Tensor4D, o.stride ?? 1, o.pad ?? 'same');
  return addBias(p, name, y) as tf.Tensor4D;
}

/** Output size of a transposed convolution along one axis. */
export function convTransposeSize(inSize: number, k: number, stride: number, pad: Padding): number {
  return pad === 'same' ? inSize * stride : (inSize - 1) * stride + k;
}

/** The transpose (gradient) of conv2d: x [B, H, W, inC] → [B, H·s, W·s, outC] for 'same',
 * [B, (H−1)s+k, (W−1)s+k, outC] for 'valid'. PyTorch's ConvTranspose2d(k=4, s=2, p=1) is 'same'
 * with k=4, s=2; ConvTranspose2d(k, s=1, p=0) is 'valid'. */
export function conv2dTranspose(p: Params, name: string, x: tf.Tensor, o: ConvOptions = {}): tf.Tensor4D {
  const w = weight(p, name);
  const [k] = w.shape as [number, number, number, number];
  const [B, H, W] = x.shape as [number, number, number, number];
  const s = o.stride ?? 1;
  const pad = o.pad ?? 'same';
  const out: [number, number, number, number] = [B, convTransposeSize(H, k, s, pad), convTransposeSize(W, w.shape[1]!, s, pad), w.shape[2]!];
  const y = tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, out, s, pad);
  return addBias(p, name, y) as tf.Tensor4D;
}

/** x [B, in] → [B, out]. */
export function dense(p: Params, name: string, x: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x as tf.Tensor2D, weight(p, name) as tf.Tensor2D);
  return addBias(p, name, y) as tf.Tensor2D;
}

// LPIPS v0.1 (Zhang et al. 2018) with the AlexNet backbone, as a pure function of a
// flat parameter record. No file access here: weights come from ./loader.ts (Node)
// or from any other source that fills the same record (e.g. fetch in a browser).
import { tf, type Params } from '@noether/core';

/** The AlexNet feature convolutions LPIPS taps: kernel side, stride, padding. */
export const LPIPS_ALEX_LAYERS = [
  { name: 'conv1', k: 11, stride: 4, pad: 2, cin: 3, cout: 64, poolBefore: false },
  { name: 'conv2', k: 5, stride: 1, pad: 2, cin: 64, cout: 192, poolBefore: true },
  { name: 'conv3', k: 3, stride: 1, pad: 1, cin: 192, cout: 384, poolBefore: true },
  { name: 'conv4', k: 3, stride: 1, pad: 1, cin: 384, cout: 256, poolBefore: false },
  { name: 'conv5', k: 3, stride: 1, pad: 1, cin: 256, cout: 256, poolBefore: false },
] as const;

/** LPIPS' input scaling layer constants (x − shift) / scale, per RGB channel. */
export const LPIPS_SCALING = Object.freeze({
  shift: [-0.03, -0.088, -0.188] as readonly number[],
  scale: [0.458, 0.448, 0.45] as readonly number[],
});

/**
 * Every tensor the network reads, with its shape (tfjs layouts: conv kernels
 * [kh, kw, in, out]). `scaling/shift` and `scaling/scale` carry the input
 * scaling layer so that the record alone defines the network.
 */
export const LPIPS_ALEX_SHAPES: Readonly<Record<string, readonly number[]>> = Object.freeze(
  Object.fromEntries([
    ...LPIPS_ALEX_LAYERS.flatMap((l, i) => [
      [`${l.name}/kernel`, [l.k, l.k, l.cin, l.cout]],
      [`${l.name}/bias`, [l.cout]],
      [`lin${i + 1}/kernel`, [1, 1, l.cout, 1]],
    ]),
    ['scaling/shift', [3]],
    ['scaling/scale', [3]],
  ]),
);

const NORM_EPS = 1e-10;

function param(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) {
    throw new Error(
      `lpips: parameter '${name}' missing from the weights record; load weights with loadLpipsWeights() ` +
        `(see packages/metrics/README.md, "LPIPS weights")`,
    );
  }
  const want = LPIPS_ALEX_SHAPES[name]!;
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new Error(`lpips: parameter '${name}' has shape [${t.shape}], expected [${want}]`);
  }
  return t;
}

/** Unit-normalises over channels (LPIPS' normalize_tensor: x / (‖x‖ + eps)). */
function unitNormalize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), 3, true)), NORM_EPS));
}

/** The five AlexNet relu activations LPIPS compares, for a batch [N, H, W, 3] already scaled. */
function alexTaps(params: Params, x: tf.Tensor4D): tf.Tensor4D[] {
  const taps: tf.Tensor4D[] = [];
  let h = x;
  for (const l of LPIPS_ALEX_LAYERS) {
    if (l.poolBefore) h = tf.maxPool(h, 3, 2, 'valid');
    // Symmetric zero padding then a valid conv (PyTorch's padding=N), which every backend supports.
    const padded = tf.pad(h, [[0, 0], [l.pad, l.pad], [l.pad, l.pad], [0, 0]]);
    const w = param(params, `${l.name}/kernel`) as tf.Tensor4D;
    const b = param(params, `${l.name}/bias`);
    h = tf.relu(tf.add(tf.conv2d(padded, w, l.stride, 'valid'), b)) as tf.Tensor4D;
    taps.push(h);
  }
  return taps;
}

/**
 * LPIPS v0.1 distance per example: a, b are [B, H, W, 3] in [−1, 1]; returns [B].
 * Features of both images go through AlexNet in one batch; at each of the five taps
 * the channel-normalised features' squared difference is weighted by the linear
 * layer (1×1 conv, no bias) and averaged over space; the taps are summed.
 */
export function lpipsDistance(params: Params, a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  if (a.rank !== 4 || a.shape[3] !== 3) {
    throw new Error(`lpips: expected [B, H, W, 3] images in [-1, 1], got shape [${a.shape}]`);
  }
  if (a.shape.some((d, i) => d !== b.shape[i]) || a.rank !== b.rank) {
    throw new Error(`lpips: the two inputs differ in shape: [${a.shape}] vs [${b.shape}]`);
  }
  const [n, hh, ww] = a.shape as [number, number, number, number];
  // Smallest input for which conv5 still has a pixel: 31 (conv1 → 7, pool → 3, pool → 1).
  if (hh < 31 || ww < 31) throw new Error(`lpips: images must be at least 31×31 for AlexNet, got ${hh}×${ww}`);
  return tf.tidy(() => {
    const shift = param(params, 'scaling/shift');
    const scale = param(params, 'scaling/scale');
    const both = tf.concat([tf.cast(a, 'float32'), tf.cast(b, 'float32')], 0) as tf.Tensor4D;
    const taps = alexTaps(params, tf.div(tf.sub(both, shift), scale) as tf.Tensor4D);
    const perTap = taps.map((f, i) => {
      const [fa, fb] = tf.split(unitNormalize(f), [n, n], 0) as [tf.Tensor4D, tf.Tensor4D];
      const d = tf.squaredDifference(fa, fb) as tf.Tensor4D;
      const lin = param(params, `lin${i + 1}/kernel`) as tf.Tensor4D;
      return tf.mean(tf.conv2d(d, lin, 1, 'valid'), [1, 2, 3]);
    });
    return tf.addN(perTap) as tf.Tensor1D;
  });
}

// Full-reference image metrics on batched NHWC tensors, written with plain tfjs
// ops (avgPool / depthwiseConv2d) so they run on every backend. Each returns one
// value per example, shape [B]. Conventions follow scikit-image 0.19, which is
// what the Noether reference code called (see README.md).
import { tf } from '@noether/core';

/** Options shared by PSNR and SSIM. */
export interface RangeOptions {
  /** max − min of the value range the images live in. Default 1 (images in [0, 1]). */
  dataRange?: number;
}

export interface PsnrOptions extends RangeOptions {
  /**
   * false (default): one PSNR per example from the MSE over all pixels and channels, as
   * scikit-image's peak_signal_noise_ratio on the whole image. true: PSNR of each channel of an
   * [B, H, W, C] image, averaged over channels, as the Noether reference code's per-channel loop
   * (mean of logs, so never below the pooled value).
   */
  perChannel?: boolean;
}

/** The PSNR the Noether reference code computed: per channel, data range 1, averaged over channels. */
export const PSNR_REFERENCE_CODE: Readonly<PsnrOptions> = Object.freeze({ dataRange: 1, perChannel: true });

export type SsimWindow = 'uniform' | 'gaussian';

export interface SsimOptions extends RangeOptions {
  /**
   * 'uniform' (default): scikit-image's default, a winSize×winSize box window with
   * sample covariance (N/(N−1)). 'gaussian': Wang et al. 2004, a Gaussian window
   * (σ = sigma, truncated at 3.5σ, so 11×11 for σ 1.5) with population covariance.
   */
  window?: SsimWindow;
  /** Side of the uniform window (odd, ≥ 3). Default 7. Ignored for 'gaussian'. */
  winSize?: number;
  /** σ of the Gaussian window. Default 1.5. Ignored for 'uniform'. */
  sigma?: number;
  /** Sample (N/(N−1)) instead of population covariance. Default: true for 'uniform', false for 'gaussian'. */
  sampleCovariance?: boolean;
  /** Stability constants. Defaults 0.01 and 0.03. */
  k1?: number;
  k2?: number;
}

/**
 * The SSIM the Noether reference code effectively computed: scikit-image 0.19
 * defaults on float images, whose implied data range is 2 (dtype range [−1, 1])
 * although the images were in [0, 1].
 */
export const SSIM_REFERENCE_CODE: Readonly<SsimOptions> = Object.freeze({ window: 'uniform', winSize: 7, dataRange: 2 });

function checkPair(fn: string, pred: tf.Tensor, target: tf.Tensor, minRank: number): void {
  if (pred.rank < minRank) {
    throw new Error(`${fn}: pred has shape [${pred.shape}], expected rank ≥ ${minRank} with the batch first`);
  }
  if (pred.shape.length !== target.shape.length || pred.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`${fn}: pred [${pred.shape}] and target [${target.shape}] must have the same shape`);
  }
  // A mean over zero pixels is 0 in tfjs: empty images would score as a perfect match (PSNR +Infinity).
  if (pred.shape.slice(1).some((d) => d === 0)) throw new Error(`${fn}: images of shape [${pred.shape}] have no pixels; pass [B, H, W, C] with H, W, C ≥ 1`);
}

/** Integer images (tf.browser.fromPixels gives int32 in 0–255) scored against the float default
 * range 1 would give a PSNR near −48 dB and a meaningless SSIM without a word. */
function checkIntegerRange(fn: string, pred: tf.Tensor, target: tf.Tensor, dataRange: number | undefined): void {
  if (dataRange === undefined && (pred.dtype === 'int32' || target.dtype === 'int32')) {
    throw new Error(`${fn}: int32 images (e.g. 0–255 from tf.browser.fromPixels) need an explicit dataRange: pass { dataRange: 255 }, or scale them to floats in [0, 1] (the default range 1)`);
  }
}

function checkRange(fn: string, dataRange: number): void {
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) {
    throw new Error(`${fn}: dataRange must be a positive finite number, got ${dataRange}`);
  }
}

/** Mean over every axis but the first: [B, ...] → [B]. */
function perExampleMean(t: tf.Tensor): tf.Tensor1D {
  const axes = Array.from({ length: t.rank - 1 }, (_, i) => i + 1);
  return (axes.length ? tf.mean(t, axes) : t) as tf.Tensor1D;
}

/** Mean squared error per example: Σ(x − y)² / (number of elements per example). [B, ...] → [B]. */
export function mse(pred: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  checkPair('mse', pred, target, 1);
  return tf.tidy(() => perExampleMean(tf.squaredDifference(tf.cast(pred, 'float32'), tf.cast(target, 'float32'))));
}

/**
 * Peak signal-to-noise ratio per example, 10·log10(R² / MSE) with R = dataRange
 * (default 1); with perChannel, of each channel of [B, H, W, C] images, then the mean over
 * channels. Identical images give +Infinity, as in scikit-image.
 */
export function psnr(pred: tf.Tensor, target: tf.Tensor, opts: PsnrOptions = {}): tf.Tensor1D {
  const r = opts.dataRange ?? 1;
  checkRange('psnr', r);
  checkPair('psnr', pred, target, 1);
  checkIntegerRange('psnr', pred, target, opts.dataRange);
  if (opts.perChannel && pred.rank !== 4) throw new Error(`psnr: perChannel needs [B, H, W, C] images, got shape [${pred.shape}]`);
  return tf.tidy(() => {
    // [B] pooled, or [B, C] per channel.
    const m = opts.perChannel
      ? tf.mean(tf.squaredDifference(tf.cast(pred, 'float32'), tf.cast(target, 'float32')), [1, 2])
      : mse(pred, target);
    // 10·log10(R²/m) = (10/ln 10)·(ln R² − ln m); log(0) = −Inf gives +Inf.
    const db = tf.mul(10 / Math.LN10, tf.sub(Math.log(r * r), tf.log(m)));
    return (opts.perChannel ? tf.mean(db, 1) : db) as tf.Tensor1D;
  });
}

/** Normalised 1-D Gaussian as scipy.ndimage.gaussian_filter builds it (truncate 3.5). */
export function gaussianKernel1d(sigma: number, truncate = 3.5): number[] {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const w = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-0.5 * ((i - radius) / sigma) ** 2));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/** SSIM options with every default filled in. */
export interface ResolvedSsim {
  window: SsimWindow;
  size: number;
  sigma: number;
  sampleCov: boolean;
  c1: number;
  c2: number;
}

/** Fills in defaults and validates; throws a clear error on bad options. */
export function resolveSsimOptions(opts: SsimOptions = {}): ResolvedSsim {
  const window = opts.window ?? 'uniform';
  if (window !== 'uniform' && window !== 'gaussian') {
    throw new Error(`ssim: window must be 'uniform' or 'gaussian', got '${String(window)}'`);
  }
  const r = opts.dataRange ?? 1;
  checkRange('ssim', r);
  const sigma = opts.sigma ?? 1.5;
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`ssim: sigma must be a positive finite number, got ${sigma}`);
  // scikit-image: the Gaussian window's side is 2·trunc(3.5σ + 0.5) + 1.
  const size = window === 'gaussian' ? 2 * Math.trunc(3.5 * sigma + 0.5) + 1 : opts.winSize ?? 7;
  if (window === 'gaussian' && size < 3) {
    throw new Error(`ssim: sigma ${sigma} gives a ${size}×${size} Gaussian window; use sigma ≥ 1/7 (a 3×3 window) or the uniform window`);
  }
  if (!Number.isInteger(size) || size < 3 || size % 2 === 0) {
    throw new Error(`ssim: winSize must be an odd integer ≥ 3, got ${size}`);
  }
  const k1 = opts.k1 ?? 0.01;
  const k2 = opts.k2 ?? 0.03;
  // As scikit-image (K1, K2 ≥ 0); NaN would otherwise turn every score into NaN without a word.
  for (const [k, v] of [['k1', k1], ['k2', k2]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`ssim: ${k} must be a finite number ≥ 0, got ${v} (default ${k === 'k1' ? 0.01 : 0.03})`);
  }
  return {
    window,
    size,
    sigma,
    sampleCov: opts.sampleCovariance ?? window === 'uniform',
    c1: (k1 * r) ** 2,
    c2: (k2 * r) ** 2,
  };
}

/**
 * Mean structural similarity per example, matching scikit-image's
 * structural_similarity on each channel, then the mean over channels.
 * Input [B, H, W, C] (H, W ≥ window side). Only windows that lie fully inside the
 * image count (scikit-image computes the border with reflection, then crops it).
 * Default: 7×7 uniform window, data range 1; see SSIM_REFERENCE_CODE for the
 * paper's setting and `window: 'gaussian'` for Wang et al.'s.
 */
export function ssim(pred: tf.Tensor, target: tf.Tensor, opts: SsimOptions = {}): tf.Tensor1D {
  const o = resolveSsimOptions(opts);
  checkPair('ssim', pred, target, 4);
  checkIntegerRange('ssim', pred, target, opts.dataRange);
  if (pred.rank !== 4) throw new Error(`ssim: expected [B, H, W, C] images, got shape [${pred.shape}]`);
  const [, h, w, c] = pred.shape as [number, number, number, number];
  if (h < o.size || w < o.size) {
    const fix = o.window === 'gaussian' ? 'use a smaller sigma or the uniform window' : 'use a smaller winSize';
    throw new Error(`ssim: images ${h}×${w} are smaller than the ${o.size}×${o.size} window; ${fix}`);
  }
  return tf.tidy(() => {
    // Moments of x − x̄ and y − ȳ (x̄, ȳ: each image channel's mean): the local variances E[x²] − E[x]²
    // are exact under any shift, but in float32 they cancel catastrophically on bright, flat regions
    // (constant 0.75 vs 0.85 gave 0.99262, not 0.99222); centred, they keep scikit-image's float64 values.
    const x0 = tf.cast(pred, 'float32') as tf.Tensor4D;
    const y0 = tf.cast(target, 'float32') as tf.Tensor4D;
    const mx = tf.mean(x0, [1, 2], true);
    const my = tf.mean(y0, [1, 2], true);
    const x = tf.sub(x0, mx);
    const y = tf.sub(y0, my);
    // One filtering pass over the five local moments, stacked along channels.
    const stack = tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], 3) as tf.Tensor4D;
    let filtered: tf.Tensor4D;
    if (o.window === 'uniform') {
      filtered = tf.avgPool(stack, o.size, 1, 'valid');
    } else {
      const g = gaussianKernel1d(o.sigma);
      const k2d = g.flatMap((a) => g.map((b) => a * b));
      // [k, k, 5C, 1]: the same 2-D window for every channel.
      const kernel = tf.tile(tf.tensor4d(k2d, [o.size, o.size, 1, 1]), [1, 1, 5 * c, 1]) as tf.Tensor4D;
      filtered = tf.depthwiseConv2d(stack, kernel, 1, 'valid');
    }
    const [cx, cy, uxx, uyy, uxy] = tf.split(filtered, 5, 3);
    const np = o.size * o.size;
    const covNorm = o.sampleCov ? np / (np - 1) : 1;
    const vx = tf.mul(covNorm, tf.sub(uxx, tf.square(cx)));
    const vy = tf.mul(covNorm, tf.sub(uyy, tf.square(cy)));
    const vxy = tf.mul(covNorm, tf.sub(uxy, tf.mul(cx, cy)));
    // The local means themselves, for the luminance term.
    const ux = tf.add(cx, mx);
    const uy = tf.add(cy, my);
    const uxuy = tf.mul(ux, uy);
    const ux2 = tf.square(ux);
    const uy2 = tf.square(uy);
    const num = tf.mul(tf.add(tf.mul(2, uxuy), o.c1), tf.add(tf.mul(2, vxy), o.c2));
    const den = tf.mul(tf.add(tf.add(ux2, uy2), o.c1), tf.add(tf.add(vx, vy), o.c2));
    // Every channel has the same number of valid windows, so the mean over
    // (H', W', C) equals the per-channel mean averaged over channels.
    return tf.mean(tf.div(num, den), [1, 2, 3]) as tf.Tensor1D;
  });
}

// Metric objects: the image metrics in the form the evaluation loop consumes.
import { tf, type Metric } from '@noether/core';
import { mse, psnr, ssim, resolveSsimOptions, type PsnrOptions, type SsimOptions, SSIM_REFERENCE_CODE, PSNR_REFERENCE_CODE } from './image.js';

// core's contract (packages/core/src/contracts.ts): per-example values [B].
export type { Metric };

export const mseMetric: Metric = Object.freeze({
  name: 'mse',
  higherIsBetter: false,
  compute: (pred: tf.Tensor, target: tf.Tensor) => mse(pred, target),
});

/**
 * For a metric left at the default data range 1: on its first batch (one read of max |target|),
 * refuses targets that reach beyond 2, such as float images in 0–255, which would score a
 * meaningless number without a word (int32 images are refused by psnr/ssim themselves). Once per
 * metric object, so evaluation loops pay one read.
 */
function defaultRangeGuard(fn: string, dataRange: number | undefined): (target: tf.Tensor) => void {
  let checked = dataRange !== undefined;
  return (target) => {
    if (checked) return;
    const peak = tf.tidy(() => tf.max(tf.abs(tf.cast(target, 'float32'))).dataSync()[0]!);
    if (peak > 2) {
      throw new Error(
        `${fn}: the targets reach ${+peak.toPrecision(4)}, far beyond the default dataRange 1 (images in [0, 1]): ` +
          `pass the images' range, e.g. ${fn}Metric({ dataRange: 255 }) for 0–255 values, or scale them to [0, 1]`,
      );
    }
    checked = true;
  };
}

export function psnrMetric(opts: PsnrOptions & { name?: string } = {}): Metric {
  const { name = 'psnr', ...o } = opts;
  if (o.dataRange !== undefined && !(o.dataRange > 0 && Number.isFinite(o.dataRange))) {
    throw new Error(`psnrMetric: dataRange must be a positive finite number, got ${o.dataRange}`);
  }
  const guard = defaultRangeGuard('psnr', o.dataRange);
  return Object.freeze({ name, higherIsBetter: true, compute: (p: tf.Tensor, t: tf.Tensor) => (guard(t), psnr(p, t, o)) });
}

export function ssimMetric(opts: SsimOptions & { name?: string } = {}): Metric {
  const { name = 'ssim', ...o } = opts;
  resolveSsimOptions(o); // bad options fail here, not on the first batch
  const guard = defaultRangeGuard('ssim', o.dataRange);
  return Object.freeze({ name, higherIsBetter: true, compute: (p: tf.Tensor, t: tf.Tensor) => (guard(t), ssim(p, t, o)) });
}

/**
 * The metrics the reference code reported (except LPIPS, which needs weights):
 * MSE, PSNR (data range 1, per channel, averaged over channels), SSIM (7×7 uniform,
 * data range 2, as the reference code effectively used), and SSIM with data range 1.
 */
export function referenceImageMetrics(): Metric[] {
  return [
    mseMetric,
    psnrMetric({ ...PSNR_REFERENCE_CODE, name: 'psnr' }),
    ssimMetric({ ...SSIM_REFERENCE_CODE, name: 'ssim' }),
    ssimMetric({ name: 'ssim_range1' }),
  ];
}

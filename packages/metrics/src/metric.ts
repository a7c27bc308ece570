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

export function psnrMetric(opts: PsnrOptions & { name?: string } = {}): Metric {
  const { name = 'psnr', ...o } = opts;
  if (o.dataRange !== undefined && !(o.dataRange > 0 && Number.isFinite(o.dataRange))) {
    throw new Error(`psnrMetric: dataRange must be a positive finite number, got ${o.dataRange}`);
  }
  return Object.freeze({ name, higherIsBetter: true, compute: (p: tf.Tensor, t: tf.Tensor) => psnr(p, t, o) });
}

export function ssimMetric(opts: SsimOptions & { name?: string } = {}): Metric {
  const { name = 'ssim', ...o } = opts;
  resolveSsimOptions(o); // bad options fail here, not on the first batch
  return Object.freeze({ name, higherIsBetter: true, compute: (p: tf.Tensor, t: tf.Tensor) => ssim(p, t, o) });
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

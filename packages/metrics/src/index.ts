// @noether/metrics: MSE, PSNR, SSIM (scikit-image conventions), LPIPS v0.1 AlexNet,
// and per-timestep aggregation. See README.md for definitions and conventions.
// Browser-safe: no Node module is imported from here; the LPIPS weight loader, which reads files,
// is '@noether/metrics/node' (src/node.ts).
export {
  mse,
  psnr,
  ssim,
  resolveSsimOptions,
  gaussianKernel1d,
  SSIM_REFERENCE_CODE,
  PSNR_REFERENCE_CODE,
  type RangeOptions,
  type PsnrOptions,
  type SsimOptions,
  type SsimWindow,
  type ResolvedSsim,
} from './image.js';
export { mseMetric, psnrMetric, ssimMetric, referenceImageMetrics, type Metric } from './metric.js';
export { metricOverTime, metricsOverTime } from './sequence.js';
export { TimestepAccumulator, MetricAccumulator, type TimestepStats, type BatchValues } from './aggregate.js';
export { lpipsDistance, LPIPS_ALEX_LAYERS, LPIPS_ALEX_SHAPES, LPIPS_SCALING } from './lpips/network.js';
export {
  parseLpipsManifest,
  lpipsParamsFromBytes,
  lpipsWeightBytes,
  lpipsManifestSchema,
  LPIPS_MANIFEST_FILE,
  LPIPS_WEIGHTS_FILE,
  LPIPS_WEIGHTS_ENV,
  type LpipsManifest,
} from './lpips/format.js';
export { lpipsMetric, type LpipsMetricOptions } from './lpips/metric.js';
export { register, metricFactories } from './register.js';

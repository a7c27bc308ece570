// DI registration: mse, psnr and ssim as metric factories, so a config's `eval.metrics: ['mse', …]`
// resolves in any container this plugin is added to (the CLI's among them). LPIPS needs weights, so
// it is built with lpipsMetric(loadLpipsWeights(dir)) where they are available.
import { TOKENS, type DependencyContainer, type MetricFactory } from '@noether/core';
import { mseMetric, psnrMetric, ssimMetric } from './metric.js';
import type { PsnrOptions, SsimOptions } from './image.js';

export const metricFactories: MetricFactory[] = [
  { type: 'mse', description: 'mean squared error per example', create: () => mseMetric },
  { type: 'psnr', description: 'PSNR in dB (data range 1 unless dataRange is given; perChannel: true averages per-channel PSNRs, as the reference code)', create: (o) => psnrMetric(o as PsnrOptions) },
  { type: 'ssim', description: 'SSIM, scikit-image conventions (7×7 uniform window, data range 1, unless given)', create: (o) => ssimMetric(o as SsimOptions) },
];

export function register(c: DependencyContainer): void {
  for (const f of metricFactories) c.register(TOKENS.MetricFactory, { useValue: f });
}

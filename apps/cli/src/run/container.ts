// The DI container the CLI builds experiments from: every installed plugin package's
// `register`, the metrics as MetricFactory entries, and the built-in experiments' own parts.
import { TOKENS, createContainer, type DependencyContainer, type MetricFactory, type Plugin } from '@noether/core';
import * as metrics from '@noether/metrics';
import * as predictorsMlp from '@noether/predictors-mlp';
import * as predictorsSvg from '@noether/predictors-svg';
import * as embeddingsCnn from '@noether/embeddings-cnn';
import * as embeddingsSymbolic from '@noether/embeddings-symbolic';
import * as datasets from '@noether/datasets';

/** The `register` of each plugin package that has one (some are still being written). */
export function packagePlugins(): Plugin[] {
  const mods: unknown[] = [predictorsMlp, predictorsSvg, embeddingsCnn, embeddingsSymbolic, datasets, metrics];
  return mods.map((m) => (m as { register?: Plugin }).register).filter((r): r is Plugin => typeof r === 'function');
}

/** mse / psnr / ssim as metric factories, unless the metrics package registers its own. */
export const metricsPlugin: Plugin = (c) => {
  if (typeof (metrics as { register?: Plugin }).register === 'function') return;
  const add = (f: MetricFactory) => c.register(TOKENS.MetricFactory, { useValue: f });
  add({ type: 'mse', description: 'mean squared error per example', create: () => metrics.mseMetric });
  add({ type: 'psnr', description: 'PSNR, data range 1', create: (o) => metrics.psnrMetric(o as never) });
  add({ type: 'ssim', description: 'SSIM (scikit-image conventions)', create: (o) => metrics.ssimMetric(o as never) });
};

export function cliContainer(...extra: Plugin[]): DependencyContainer {
  return createContainer(...packagePlugins(), metricsPlugin, ...extra);
}

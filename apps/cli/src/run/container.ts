// The DI container the CLI builds experiments from: every plugin package's `register` (the
// metrics package's registers mse, psnr and ssim), and the built-in experiments' own parts.
import { createContainer, type DependencyContainer, type Plugin } from '@noether/core';
import * as metrics from '@noether/metrics';
import * as predictorsMlp from '@noether/predictors-mlp';
import * as predictorsSvg from '@noether/predictors-svg';
import * as embeddingsCnn from '@noether/embeddings-cnn';
import * as embeddingsSymbolic from '@noether/embeddings-symbolic';
import * as datasets from '@noether/datasets';

/** The `register` of each plugin package that has one. */
export function packagePlugins(): Plugin[] {
  const mods: unknown[] = [predictorsMlp, predictorsSvg, embeddingsCnn, embeddingsSymbolic, datasets, metrics];
  return mods.map((m) => (m as { register?: Plugin }).register).filter((r): r is Plugin => typeof r === 'function');
}

export function cliContainer(...extra: Plugin[]): DependencyContainer {
  return createContainer(...packagePlugins(), ...extra);
}

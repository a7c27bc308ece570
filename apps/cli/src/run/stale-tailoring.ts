// Runs made before core stepped per-example tailored variables (modes cn, latent) as each sequence
// would alone: their inner loss was a batch mean, so an SGD lr acted as lr/B per sequence. Such a
// run re-evaluated (or resumed, or analysed) now takes B× that step, and its tailored numbers move;
// the user should hear so rather than find different numbers. New runs record perSequenceTailoring.
import { testInnerConfig, type Experiment } from '@noether/core';
import type { RunDir } from './run-dir.js';

export function staleTailoringNote(rd: RunDir, exp: Experiment): string | undefined {
  if (rd.meta.perSequenceTailoring) return undefined;
  const c = exp.config;
  const mode = c.noether.tailor ?? exp.predictor.tailor;
  if (c.mode === 'baseline' || (mode !== 'cn' && mode !== 'latent')) return undefined;
  if (c.inner.optimizer !== 'sgd' && testInnerConfig(c).optimizer !== 'sgd') return undefined;
  return (
    `note: ${rd.path} was made before per-example tailoring (mode '${mode}') stepped each sequence at the full inner lr: ` +
    `its SGD lr then acted on the batch mean (lr/B per sequence), so its tailored numbers now differ from those it recorded`
  );
}

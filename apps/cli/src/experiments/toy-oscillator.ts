// A tiny built-in state-space experiment: core's oscillator example (2-D harmonic
// oscillator, an MLP predictor stepping x + f(x)·dt and an MLP embedding).
// Two phases: a baseline trains θ without tailoring (at a low learning rate that leaves
// the predictor imperfect, as real predictors are); then Noether meta-training learns φ
// with θ frozen, so the table compares the same θ untailored and tailored on held-out data.
import { buildExperiment, disposeMetaState, examples, withThetaOf, type ExperimentConfig } from '@noether/core';
import { curveRows } from '../analyze/video.js';
import { tableModels, type ResultTableSpec } from './table.js';
import type { BuiltinExperiment } from './types.js';

const base = {
  predictor: { type: 'mlp-step', hidden: 16 },
  embedding: { type: 'mlp-embedding', hidden: 16, dim: 2 },
  mode: 'noether' as const,
  inner: { optimizer: 'sgd' as const, steps: 1, lr: 0.01 },
  eval: { batchSize: 16, metrics: ['mse'] },
};

const quick = {
  ...base,
  name: 'toy-oscillator',
  seed: 1,
  dataset: { type: 'oscillator', nTrain: 32, nTest: 32, seqLength: 10 },
  outer: { epochs: 40, batchSize: 8, lrTheta: 1.5e-3, lrPhi: 1e-2 },
};

/** The result table: each phase by its name (the noether phase tailors unless mode is set to baseline). */
function toyTable(cfg: ExperimentConfig): ResultTableSpec {
  return {
    phases: [
      { phase: 'baseline', label: 'baseline', tailors: false },
      { phase: 'noether', label: 'noether', tailors: cfg.mode !== 'baseline' },
    ],
  };
}

export const toyOscillator: BuiltinExperiment = {
  description: '2-D harmonic oscillator, MLP predictor and MLP embedding: baseline vs Noether, untailored vs tailored (seconds on a CPU)',
  quickConfig: quick,
  // A toy: the full run is the quick one (about 10 s on 2 cores), so the README's
  // main-job command needs no option.
  fullConfig: quick,
  plugins: [examples.oscillatorPlugin],
  resultTable: toyTable,
  async run(ctx) {
    const cfg = ctx.config;
    // Phase 1: the baseline (θ only, no tailoring).
    const baseExp = await buildExperiment(ctx.container, { ...cfg, mode: 'baseline' }, 'config (baseline phase)');
    const b = await ctx.runner.trainPhase('baseline', baseExp);
    const evB = await ctx.runner.evaluatePhase('baseline', baseExp, b.state);
    // Phase 2: Noether meta-training of φ from the baseline θ, frozen (outer.lrTheta is the baseline's).
    const exp = await buildExperiment(ctx.container, { ...cfg, outer: { ...cfg.outer, lrTheta: 0 } }, 'config');
    const n = await ctx.runner.trainPhase('noether', exp, (fresh) => withThetaOf(fresh, b.state));
    disposeMetaState(b.state);
    const evN = await ctx.runner.evaluatePhase('noether', exp, n.state);
    disposeMetaState(n.state);
    ctx.runner.plotLoss();
    return {
      table: curveRows(tableModels(toyTable(cfg), { baseline: evB, noether: evN })),
      finalLoss: { baseline: b.finalLoss, noether: n.finalLoss },
      steps: { baseline: b.steps, noether: n.steps },
    };
  },
};

// The library snippets of docs/plugins.md ("Using it"), run as written but for the epochs.
import { describe, expect, it } from 'vitest';
import { createContainer, buildExperiment, train, evaluate, disposeMetaState, tf } from '@noether/core';
import { register as registerMlp } from '@noether/predictors-mlp';
import { register as registerDatasets } from '@noether/datasets';
import { register as registerMetrics } from '@noether/metrics';
import { register } from '../../../examples/custom-embedding/quadratic-embedding.js';

describe('docs/plugins.md', () => {
  it('"Using it": builds, meta-trains and evaluates the quadratic embedding on spring data', async () => {
    const before = tf.memory().numTensors;
    const c = createContainer(registerMlp, registerDatasets, registerMetrics, register);
    const exp = await buildExperiment(c, {
      predictor: { type: 'mlp', dt: 3 / 29 },
      embedding: { type: 'quadratic' },
      dataset: { type: 'spring', trajectories: 50 },
      inner: { lr: 0.01 }, outer: { epochs: 2, lrTheta: 0, lrPhi: 1e-2 },
      eval: { metrics: ['mse'] },
    });
    expect(exp.dataset.size('train')).toBe(25);
    const { state, losses } = await train(exp.setup, exp.dataset, exp.initState(), { epochs: 2, batchSize: 16, seed: 0 });
    expect(losses.every(Number.isFinite)).toBe(true);
    const result = await evaluate(exp.testSetup, exp.dataset, state, { batchSize: 16, seed: 0, metrics: exp.metrics });
    expect(JSON.stringify(result)).toMatch(/mse/);
    disposeMetaState(state);
    expect(tf.memory().numTensors).toBe(before);
  });
});

import { describe, expect, it } from 'vitest';
import { TOKENS, createContainer, examples, buildExperiment, tf, type MetricFactory } from '@noether/core';
import { register } from '../src/index.js';

describe('register', () => {
  it('puts mse, psnr and ssim in a container, so a config can name them', async () => {
    const c = createContainer(register, examples.oscillatorPlugin);
    const types = c.resolveAll<MetricFactory>(TOKENS.MetricFactory).map((f) => f.type);
    expect(types).toEqual(expect.arrayContaining(['mse', 'psnr', 'ssim']));
    const exp = await buildExperiment(c, {
      predictor: { type: 'mlp-step' }, embedding: { type: 'mlp-embedding' }, dataset: { type: 'oscillator', nTrain: 4, nTest: 4, seqLength: 4 },
      eval: { metrics: ['mse', 'psnr'] },
    });
    expect(exp.metrics.map((m) => m.name)).toEqual(['mse', 'psnr']);
    const a = tf.ones([2, 3]);
    expect(Array.from(exp.metrics[0]!.compute(a, a).dataSync())).toEqual([0, 0]);
    a.dispose();
  });
});

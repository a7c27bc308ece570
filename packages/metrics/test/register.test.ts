import { describe, expect, it } from 'vitest';
import { TOKENS, createContainer, examples, buildExperiment, tf, type MetricFactory } from '@noether/core';
import { register, ssim, SSIM_REFERENCE_CODE } from '../src/index.js';

describe('register', () => {
  it('puts mse, psnr and ssim in a container, so a config can name them', async () => {
    const c = createContainer(register, examples.oscillatorPlugin);
    const types = c.resolveAll<MetricFactory>(TOKENS.MetricFactory).map((f) => f.type);
    expect(types).toEqual(expect.arrayContaining(['mse', 'psnr', 'ssim']));
    const exp = await buildExperiment(c, {
      predictor: { type: 'mlp-step' }, embedding: { type: 'mlp-embedding' }, dataset: { type: 'oscillator', nTrain: 4, nTest: 4, seqLength: 4 },
      eval: { metrics: ['mse', 'psnr', { type: 'ssim', window: 'uniform', winSize: 7, dataRange: 2 }] },
    });
    expect(exp.metrics.map((m) => m.name)).toEqual(['mse', 'psnr', 'ssim']);
    // A metric given with options is built with them: the reference SSIM, not the default one.
    const x = tf.randomUniform([1, 8, 8, 1], 0, 1, 'float32', 1);
    const y = tf.randomUniform([1, 8, 8, 1], 0, 1, 'float32', 2);
    const got = exp.metrics[2]!.compute(x, y);
    const want = ssim(x, y, SSIM_REFERENCE_CODE);
    expect(got.dataSync()[0]).toBe(want.dataSync()[0]);
    expect(got.dataSync()[0]).not.toBe(ssim(x, y).dataSync()[0]);
    tf.dispose([x, y, got, want]);
    const a = tf.ones([2, 3]);
    expect(Array.from(exp.metrics[0]!.compute(a, a).dataSync())).toEqual([0, 0]);
    a.dispose();
  });
});

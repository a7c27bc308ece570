import { describe, expect, it } from 'vitest';
import { createContainer, buildExperiment, examples, tf, type EmbeddingFactory, TOKENS } from '@noether/core';
import { register } from '../src/index.js';

describe("register: the 'formula' embedding", () => {
  it('builds a formula embedding with learned parameters from a config', async () => {
    const c = createContainer(register, examples.oscillatorPlugin);
    const exp = await buildExperiment(c, {
      predictor: { type: 'mlp-step' }, dataset: { type: 'oscillator', nTrain: 4, nTest: 4, seqLength: 4 },
      embedding: { type: 'formula', formula: 'c0*q^2 + c1*p^2', init: [1, 0.5] }, eval: { metrics: [] },
    });
    const phi = exp.initState().phi;
    expect(Object.keys(phi).sort()).toEqual(['sym/c0', 'sym/c1']);
    const x = tf.tensor2d([[1, 2], [3, 0]]);
    expect(Array.from(exp.setup.embedding!.apply(phi, [x]).dataSync())).toEqual([3, 9]);
    tf.dispose([x, ...Object.values(phi)]);
  });

  it('names the option and the fix on a bad formula or init', () => {
    const f = createContainer(register).resolveAll<EmbeddingFactory>(TOKENS.EmbeddingFactory).find((e) => e.type === 'formula')!;
    expect(() => f.create({ formula: 'p^3' })).toThrow(/embedding\.formula: formula 'p\^3'/);
    expect(() => f.create({ formula: 'x^2', inputs: ['q', 'p'] })).toThrow(/embedding\.formula/);
    expect(() => f.create({ formula: 'c*q^2', init: [1, 2] })).toThrow(/embedding\.init: the formula has 1 parameter\(s\), init gives 2/);
    expect(() => f.create({})).toThrow(/formula/);
  });
});

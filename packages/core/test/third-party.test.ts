import { describe, it, expect } from 'vitest';
import { createContainer, TOKENS, buildExperiment, train, type DatasetFactory, type PredictorFactory, type MetricFactory } from '../src/index.js';
import { QuadraticEmbedding, register as registerQuadratic } from '../../../examples/custom-embedding/quadratic-embedding.js';
import { ToyPredictor, oscillatorDataset, mseMetric } from './algorithm/toy.js';

// Stand-ins for installed plugins: factories registered the way a plugin's register() does.
function toyPlugins(c: ReturnType<typeof createContainer>) {
  c.register<PredictorFactory>(TOKENS.PredictorFactory, { useValue: { type: 'toy-mlp', description: 'toy', create: () => new ToyPredictor(8) } });
  c.register<DatasetFactory>(TOKENS.DatasetFactory, { useValue: { type: 'oscillator', description: 'toy', create: () => oscillatorDataset(8, 8, 5, 3) } });
  c.register<MetricFactory>(TOKENS.MetricFactory, { useValue: { type: 'mse', description: 'mse', create: () => mseMetric } });
}

const config = {
  seed: 3,
  predictor: { type: 'toy-mlp' },
  embedding: { type: 'quadratic' },
  dataset: { type: 'oscillator' },
  inner: { lr: 0.01 },
  outer: { epochs: 2, batchSize: 4, lrTheta: 0, lrPhi: 1e-2 },
};

describe('a third-party embedding', () => {
  it('registered as a class in a child container is resolved and meta-trained', async () => {
    const root = createContainer(toyPlugins);
    const child = root.createChildContainer();
    child.register(TOKENS.Embedding, { useClass: QuadraticEmbedding });
    const exp = await buildExperiment(child, config);
    expect(exp.embedding).toBeInstanceOf(QuadraticEmbedding);
    const st = exp.initState();
    const A0 = Array.from(st.phi.A!.dataSync());
    const r = await train(exp.setup, exp.dataset, st, { epochs: 2, batchSize: 4, seed: 1 });
    expect(r.losses.length).toBe(4);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    // φ moved: the outer gradient reached the user's parameters through the inner step.
    expect(Array.from(r.state.phi.A!.dataSync())).not.toEqual(A0);
    // The root container is untouched: nothing of the user's leaked into it.
    expect(root.isRegistered(TOKENS.Embedding, true)).toBe(false);
  });

  it('registered as a named factory is picked by the config type', async () => {
    const c = createContainer(toyPlugins, registerQuadratic);
    const exp = await buildExperiment(c, config);
    expect(exp.embedding?.name).toBe('quadratic');
    await expect(buildExperiment(c, { ...config, embedding: { type: 'nope' } })).rejects.toThrow(/unknown embedding type 'nope'; registered: quadratic/);
  });
});

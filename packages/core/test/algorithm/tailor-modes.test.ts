// Tailoring modes 'cn' and 'latent' on a plugin-style predictor: the per-example variables a
// predictor declares are the ones tailored, and declaring some that the rollout never reads (a
// name mismatch) is an error naming them, not a tailoring step that silently changes nothing.
import { describe, expect, it } from 'vitest';
import { tf, GradientInnerOptimizer, predictSequence, makeWindow, defineExperiment, ConfigError, type TailorMode } from '../../src/index.js';
import { AllModesPredictor, ToyPredictor, ToyEmbedding, energyEmbedding, oscillatorDataset } from './toy.js';

function tailor(predictor: AllModesPredictor, mode: TailorMode) {
  const batch = oscillatorDataset(3, 1, 5).gather('train', [0, 1, 2]);
  const w = makeWindow(predictor, batch, { contextLength: 1 });
  const inner = new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: 0.5 });
  return predictSequence({ predictor, theta: predictor.init(1), embedding: energyEmbedding, phi: {}, inner, form: '2a', mode }, w.seq, { differentiable: false, untailored: true });
}

describe("tailoring modes 'cn' and 'latent'", () => {
  for (const mode of ['cn', 'latent'] as const) {
    it(`${mode}: tailors the declared per-example variables and changes the prediction`, () => {
      tf.tidy(() => {
        const out = tailor(new AllModesPredictor(), mode);
        expect(Object.keys(out.vars).sort()).toEqual(mode === 'cn' ? ['cn/beta', 'cn/gamma'] : ['z']);
        expect(out.vars[Object.keys(out.vars)[0]!]!.shape[0]).toBe(3);
        const diff = tf.max(tf.abs(tf.sub(out.tailored.preds[3]!, out.untailored!.preds[3]!))).dataSync()[0]!;
        expect(diff).toBeGreaterThan(1e-4);
      });
    });
  }

  // CNGRAD's point: each sequence gets its own variables, so its prediction is its own business. The
  // inner loss is the batch mean, whose per-example gradient carries 1/B: without rescaling, a test
  // sequence tailored in a batch of 3 took a third of the step it takes alone (and eval.batchSize or
  // a short last batch changed its prediction).
  for (const mode of ['cn', 'latent'] as const) {
    for (const kind of ['sgd', 'adam'] as const) {
      it(`${mode}, ${kind}: a sequence's tailored prediction does not depend on the batch it is tailored in`, () => {
        tf.tidy(() => {
          const predictor = new AllModesPredictor();
          const theta = predictor.init(1);
          const data = oscillatorDataset(3, 1, 5);
          // The latent offset z is added at every step, so its gradient is large: a smaller sgd step keeps it finite.
          const inner = new GradientInnerOptimizer({ kind, steps: 3, lr: mode === 'latent' && kind === 'sgd' ? 0.01 : 0.2 });
          const run = (idx: number[], differentiable: boolean) => {
            const w = makeWindow(predictor, data.gather('train', idx), { contextLength: 1 });
            return predictSequence({ predictor, theta, embedding: energyEmbedding, phi: {}, inner, form: '2a', mode }, w.seq, { differentiable, untailored: true });
          };
          for (const differentiable of [false, true]) {
            const alone = run([1], differentiable);
            const inBatch = run([0, 1, 2], differentiable);
            const last = alone.tailored.preds.length - 1;
            const moved = tf.max(tf.abs(tf.sub(alone.tailored.preds[last]!, alone.untailored!.preds[last]!))).dataSync()[0]!;
            expect(moved).toBeGreaterThan(1e-3);
            const b1 = tf.slice(inBatch.tailored.preds[last]!, [1, 0], [1, -1]);
            const diff = tf.max(tf.abs(tf.sub(b1, alone.tailored.preds[last]!))).dataSync()[0]!;
            expect(diff, `differentiable ${differentiable}`).toBeLessThan(1e-6);
          }
        });
      });
    }
  }

  it("cn: conditioning variables the step reads under another name are refused, naming them and the fix", () => {
    expect(() => tailor(new AllModesPredictor({ cn: 'norm', latent: 'z' }), 'cn')).toThrow(
      /predictor 'mlp-step', tailoring mode 'cn': conditioning\(\) returned 'cn\/gamma', 'cn\/beta', but the rollout never reads them, so tailoring would change nothing: step must read them from params under those names/,
    );
  });

  it('latent: a latent state the step never reads is refused', () => {
    expect(() => tailor(new AllModesPredictor(undefined, false), 'latent')).toThrow(
      /tailoring mode 'latent': initState put in State.latent 'z', but the rollout never reads it, so tailoring would change nothing: step must read it from state.latent/,
    );
  });

  it('an experiment refuses a tailoring mode its predictor does not support when it is built, not at the first step', () => {
    const parts = { predictor: new ToyPredictor(4), embedding: new ToyEmbedding(), dataset: oscillatorDataset(2, 2, 4) };
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(() => defineExperiment(parts, { noether: { tailor: 'latent' } }))).toBe(
      "noether.tailor: predictor 'mlp-step' cannot tailor in mode 'latent'; it supports: all (set noether.tailor to one of them)",
    );
    // A predictor whose own default is not among its modes, and one listing 'cn' without conditioning().
    const wrongDefault = Object.assign(new ToyPredictor(4), { tailor: 'cn' as const });
    expect(refused(() => defineExperiment({ ...parts, predictor: wrongDefault }))).toMatch(/^predictor: predictor 'mlp-step' cannot tailor in mode 'cn'; it supports: all \(its own default/);
    const noConditioning = Object.assign(new ToyPredictor(4), { tailorModes: ['all', 'cn'] as const });
    expect(refused(() => defineExperiment({ ...parts, predictor: noConditioning }, { noether: { tailor: 'cn' } }))).toMatch(/lists mode 'cn' but has no conditioning\(params, batchSize\)/);
    // No tailoring, nothing to check; a supported mode builds.
    expect(defineExperiment(parts, { mode: 'baseline', noether: { tailor: 'latent' } }).setup.tailorMode).toBe('latent');
    expect(defineExperiment(parts, { noether: { tailor: 'all' } }).setup.tailorMode).toBe('all');
  });

  it("defineExperiment refuses mode 'oracle' with an embedding that has parameters (it crashed at the first step)", () => {
    const parts = { predictor: new ToyPredictor(4), embedding: new ToyEmbedding(), dataset: oscillatorDataset(2, 2, 4) };
    const before = tf.memory().numTensors;
    expect(() => defineExperiment(parts, { mode: 'oracle' })).toThrow(/^mode: mode 'oracle' tailors with a fixed, known embedding \(no parameters\), but embedding '.*' has \d+ \(/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('defineExperiment refuses a tailoring mode without an embedding as a field error', () => {
    const f = () => defineExperiment({ predictor: new ToyPredictor(4), dataset: oscillatorDataset(2, 2, 4) });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow("embedding: mode 'noether' tailors with an embedding, and none was given: give one (or use mode 'baseline')");
  });

  it('defineExperiment refuses metric names it cannot resolve (they were dropped: evaluate then scored nothing)', () => {
    const parts = { predictor: new ToyPredictor(4), embedding: new ToyEmbedding(), dataset: oscillatorDataset(2, 2, 4) };
    const f = () => defineExperiment(parts, { eval: { metrics: ['mse'] } });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(/^eval\.metrics: defineExperiment cannot look metrics up by name: pass the Metric objects as parts\.metrics/);
    // Each issue reads on its own, as validate()'s do: the field, then the problem and the fix.
    expect(() => f()).toThrow(expect.objectContaining({ issues: [{ path: 'eval.metrics', message: expect.stringMatching(/^defineExperiment cannot look metrics up by name: /) }] }));
    const mse = { name: 'mse', compute: () => { throw new Error('unused'); } } as never;
    expect(defineExperiment({ ...parts, metrics: [mse] }, { eval: { metrics: ['mse'] } }).metrics).toEqual([mse]);
  });
});

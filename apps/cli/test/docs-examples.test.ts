// The library snippets of docs/getting-started.md ("The same experiment in code") and docs/plugins.md
// ("Registering", "Using it", the audit, noPeekingCheck, "Your own inner optimiser", the quad.yaml of "From the CLI"), run as written
// but for the epochs; the code snippets of the predictors-mlp, predictors-svg and embeddings-symbolic
// READMEs and of examples/custom-embedding's; and examples/custom-predictor as its README uses it: in code, through the audit, and from the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  createContainer, buildExperiment, train, evaluate, disposeMetaState, auditSecondOrder, tf,
  defineExperiment, examples, withThetaOf, encodeMetaState, decodeMetaState,
  defaultInnerOptions, stopGradient, valueAndGradsOf, metaStepAuditCase, GradientInnerOptimizer, ArrayDataset, Rng, TOKENS, listFactories, noPeekingCheck,
  type Embedding, type EmbeddingFactory, type InnerMinimizeOptions, type InnerOptimizer, type InnerOptimizerOptions, type InnerResult, type MetaSetup, type Params,
} from '@noether/core';
import { mseMetric } from '@noether/metrics';
import { register as registerMlp, VectorFieldPredictor } from '@noether/predictors-mlp';
import { register as registerDatasets, generateSpring, trajectoryDataset } from '@noether/datasets';
import { register as registerMetrics } from '@noether/metrics';
import { register as registerSymbolic } from '@noether/embeddings-symbolic';
import { SvgPredictor } from '@noether/predictors-svg';
import { CnnEmbedding } from '@noether/embeddings-cnn';
import { register, QuadraticEmbedding } from '../../../examples/custom-embedding/quadratic-embedding.js';
import { register as registerRecurrent, auditCases as recurrentAuditCases, RecurrentPredictor } from '../../../examples/custom-predictor/recurrent-predictor.js';
import { allPlugins } from '../src/commands/run-shared.js';
import { cliContainer } from '../src/run/container.js';
import { readJson, run, tmp } from './helpers.js';

const root = new URL('../../../', import.meta.url).pathname;

describe('docs/getting-started.md', () => {
  it('"The same experiment in code": two phases, evaluation, and a checkpoint round trip that gives the same numbers', async () => {
    const before = tf.memory().numTensors;
    // As written, but for the epochs (the snippet's 40 take ~10 s; its numbers are the CLI table's).
    const dataset = examples.oscillatorDataset({ nTrain: 32, nTest: 32, seqLength: 10 });
    const predictor = new examples.MlpStepPredictor(2, 16);
    const embedding = new examples.MlpEmbedding(2, 16, 2);
    const config = { seed: 1, inner: { lr: 0.01 }, outer: { epochs: 2, batchSize: 8, lrTheta: 1.5e-3, lrPhi: 1e-2 } };
    const fit = { epochs: 2, batchSize: 8, seed: 1 };
    const score = { batchSize: 16, seed: 1, metrics: [mseMetric] };
    const base = defineExperiment({ predictor, dataset }, { ...config, mode: 'baseline' });
    const b = await train(base.setup, dataset, base.initState(), fit);
    const evB = await evaluate(base.testSetup, dataset, b.state, score);
    const exp = defineExperiment({ predictor, embedding, dataset }, { ...config, outer: { ...config.outer, lrTheta: 0 } });
    const n = await train(exp.setup, dataset, withThetaOf(exp.initState(), b.state), fit);
    disposeMetaState(b.state);
    const result = await evaluate(exp.testSetup, dataset, n.state, score);
    // θ was frozen: untailored, the Noether model is the baseline; tailoring changes the prediction.
    expect(result.untailored['mse']!.overall).toBe(evB.untailored['mse']!.overall);
    expect(result.tailored['mse']!.overall).not.toBe(result.untailored['mse']!.overall);
    const { manifest, data } = encodeMetaState(n.state, { note: 'anything JSON' });
    const like = exp.initState();
    const { state, meta } = decodeMetaState(JSON.parse(JSON.stringify(manifest)), data, 'my checkpoint', like);
    disposeMetaState(like);
    expect(meta['note']).toBe('anything JSON');
    const again = await evaluate(exp.testSetup, dataset, state, score);
    expect(again).toEqual(result);
    disposeMetaState(state);
    disposeMetaState(n.state);
    expect(tf.memory().numTensors).toBe(before);
  });
});

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

  it('"Using it" names every type the CLI registers (its packages\' and its built-in experiments\')', () => {
    const doc = readFileSync(join(root, 'docs', 'plugins.md'), 'utf8');
    const start = doc.indexOf('## Using it');
    const prose = doc.slice(start, doc.indexOf('```ts', start));
    const c = cliContainer(...allPlugins());
    const tokens = [TOKENS.PredictorFactory, TOKENS.EmbeddingFactory, TOKENS.DatasetFactory, TOKENS.MetricFactory];
    const types = tokens.flatMap((t) => listFactories(c, t).map((f) => f.type));
    expect(types).toContain('svg-action'); // the container is the CLI's, with every package
    expect(types.filter((t) => !prose.includes(`\`${t}\``))).toEqual([]);
  });

  it('"Registering": a factory (route 1) and a class under the token in a child container (route 2)', () => {
    const child = createContainer(register).createChildContainer();
    child.register(TOKENS.Embedding, { useClass: QuadraticEmbedding });
    expect(child.resolve<Embedding>(TOKENS.Embedding)).toBeInstanceOf(QuadraticEmbedding);
    expect(child.resolveAll<EmbeddingFactory>(TOKENS.EmbeddingFactory).map((f) => f.type)).toContain('quadratic');
    // What the text says of route 2: a class whose constructor takes arguments tsyringe cannot inject fails at resolve.
    class WithOptions extends QuadraticEmbedding { constructor(readonly hidden: number) { super(); } }
    child.register(TOKENS.Embedding, { useClass: WithOptions });
    expect(() => child.resolve(TOKENS.Embedding)).toThrow(/TypeInfo not known for "WithOptions"/);
  });

  it('the audit snippet: the recurrent predictor in mode cn dispatches only second-order-checked kernels', () => {
    const data = examples.oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 4 });
    const c = metaStepAuditCase('mine/recurrent/cn', () => {
      const predictor = new RecurrentPredictor({ dt: 0.1, hidden: 4 });
      const embedding = new examples.MlpEmbedding(2, 3, 1);
      const setup = { predictor, embedding, mode: 'noether', tailorMode: 'cn', form: '2a',
        inner: new GradientInnerOptimizer({ lr: 0.1 }), lrTheta: 1, lrPhi: 1 } as const;
      return { setup, theta: predictor.init(1), phi: embedding.init(2), batch: data.gather('train', [0, 1, 2]) };
    });
    expect(auditSecondOrder(() => c.run()).unchecked).toEqual([]);
  });

  it('the noPeekingCheck snippet: the recurrent predictor, CN-tailored, does not peek and tailoring moves it', () => {
    const before = tf.memory().numTensors;
    const predictor = new RecurrentPredictor({ dt: 0.1, hidden: 4 });
    const embedding = new examples.MlpEmbedding(2, 3, 1);
    const setup = { predictor, embedding, mode: 'noether', tailorMode: 'cn', form: '2a',
      inner: new GradientInnerOptimizer({ steps: 2, lr: 0.1 }), lrTheta: 0, lrPhi: 0 } as const;
    const params = { theta: predictor.init(1), phi: embedding.init(2) };
    const batch = examples.oscillatorDataset({ nTrain: 1, nTest: 2, seqLength: 6 }).gather('test', [0, 1]);
    const r = noPeekingCheck(setup, params, batch);
    expect(r.problem).toBeUndefined();
    expect(r.tailoringChanged).toBe(true);
    tf.dispose([params, batch.obs]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('"From the CLI": quad.yaml is a valid config for the quadratic plugin, and names the run directories the commands use', async () => {
    const doc = readFileSync(join(root, 'docs', 'plugins.md'), 'utf8');
    const yaml = /```yaml\n# quad\.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml, 'plugins.md shows quad.yaml').toBeDefined();
    const config = parseYaml(yaml!) as { name: string };
    const runNames = [...doc.matchAll(/noether (?:eval|analyze inner-steps) runs\/(\S+)-\d{8}-\d{6}Z/g)].map((m) => m[1]);
    expect(runNames).toEqual([config.name, config.name]);
    const exp = await buildExperiment(createContainer(registerMlp, registerDatasets, registerMetrics, register), config);
    expect(exp.setup.embedding?.name).toBe('quadratic');
    expect(exp.metrics.map((m) => m.name)).toEqual(['mse']);
  });
});

describe('examples/custom-embedding README', () => {
  it('both routes, as written: a config selects the factory; the class resolves from a child container', async () => {
    const container = createContainer(registerMlp, registerDatasets, registerMetrics, register);
    const exp = await buildExperiment(container, {
      predictor: { type: 'mlp', dt: 3 / 29 },
      embedding: { type: 'quadratic' },
      dataset: { type: 'spring', trajectories: 50 },
    });
    expect(exp.setup.embedding).toBeInstanceOf(QuadraticEmbedding);
    const child = createContainer(register).createChildContainer();
    child.register(TOKENS.Embedding, { useClass: QuadraticEmbedding });
    expect(child.resolve<Embedding>(TOKENS.Embedding)).toBeInstanceOf(QuadraticEmbedding);
  });
});

describe('package READMEs', () => {
  it('predictors-mlp: an HNN with per-sequence (cn) tailoring trains and evaluates', async () => {
    const before = tf.memory().numTensors;
    // As written, but for the sizes and epochs (50 trajectories, hidden 64, 10 epochs in the README).
    const dataset = trajectoryDataset(generateSpring({ trajectories: 10 }));
    const predictor = new VectorFieldPredictor('hnn', { dt: 3 / 29, hidden: 16 });
    const embedding = new examples.MlpEmbedding(2, 16, 2);
    const exp = defineExperiment({ predictor, embedding, dataset, metrics: [mseMetric] },
      { noether: { tailor: 'cn' }, inner: { lr: 0.01 } });
    const { state } = await train(exp.setup, dataset, exp.initState(), { epochs: 1, batchSize: 16, seed: 0 });
    const result = await evaluate(exp.testSetup, dataset, state, { batchSize: 16, seed: 0, metrics: exp.metrics });
    disposeMetaState(state);
    expect(result.tailored['mse']!.overall).not.toBe(result.untailored['mse']!.overall);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('predictors-svg: the tiny SVG with the CNN embedding, CN-tailored, on 8×8 frames', async () => {
    const before = tf.memory().numTensors;
    // The README leaves the data set to the reader: a few seeded random 8×8 RGB clips of 4 frames.
    const rng = new Rng(0);
    const clips = (n: number) => ({ obs: Float32Array.from({ length: n * 4 * 8 * 8 * 3 }, () => rng.uniform()), n });
    const dataset = new ArrayDataset({ name: 'noise', obsShape: [8, 8, 3], seqLength: 4, train: clips(2), test: clips(2) });
    const predictor = new SvgPredictor({ arch: 'dcgan', frameSize: 8, widths: [4], gDim: 4, rnnSize: 4, zDim: 2 });
    const embedding = new CnnEmbedding({ dim: 4, height: 8, width: 8, channels: 3, filters: [8, 8], kernel: 3 });
    const exp = defineExperiment({ predictor, embedding, dataset }, { noether: { tailor: 'cn' }, inner: { lr: 0.1 } });
    expect(exp.setup.tailorMode).toBe('cn');
    const { state, losses } = await train(exp.setup, dataset, exp.initState(), { epochs: 1, batchSize: 2, seed: 0 });
    expect(losses.every(Number.isFinite)).toBe(true);
    const result = await evaluate(exp.testSetup, dataset, state, { batchSize: 2, seed: 0, metrics: [mseMetric] });
    expect(Number.isFinite(result.tailored['mse']!.overall)).toBe(true);
    disposeMetaState(state);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('embeddings-symbolic: the `node -e` counter prints the first seven rows of the README\'s table', () => {
    const doc = readFileSync(join(root, 'packages', 'embeddings-symbolic', 'README.md'), 'utf8');
    const script = /node --input-type=module -e "\n([\s\S]*?)"\n```/.exec(doc)?.[1];
    expect(script, 'the README shows the counter').toBeDefined();
    // Without colours: under nx (FORCE_COLOR) console.log would wrap the numbers in escape codes.
    const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script!], { cwd: root, encoding: 'utf8', env });
    // Its counts, in the order it prints them, are the table's rows in order (pendulum, spring).
    const printed = (system: string) => [...(new RegExp(`${system} \\{([^}]*)\\}`).exec(out)?.[1] ?? '').matchAll(/: (\d+)/g)].map((m) => Number(m[1]));
    const table = doc.slice(doc.indexOf('| rule | pendulum | spring |'));
    const rows = table.split('\n').slice(2, 9).map((r) => r.split('|').slice(2, 4).map((c) => Number(c.trim().replace(/,/g, ''))));
    expect(printed('pendulum')).toEqual(rows.map((r) => r[0]));
    expect(printed('spring')).toEqual(rows.map((r) => r[1]));
  });
});

// docs/plugins.md, "Your own inner optimiser", as written.
class MomentumInner implements InnerOptimizer {
  readonly options: InnerOptimizerOptions;
  constructor(o: { lr: number; steps: number }, readonly momentum = 0.9) {
    this.options = { ...defaultInnerOptions, lr: o.lr, steps: o.steps };
  }
  minimize(loss: (vars: Params) => tf.Scalar, vars: Params, opts: InnerMinimizeOptions): InnerResult {
    const cut = !opts.differentiable || this.options.firstOrder;
    const B = opts.perExample ? Object.values(vars)[0]!.shape[0]! : 1;
    let cur = vars;
    let velocity: Params = {};
    const losses: tf.Scalar[] = [];
    for (let k = 0; k < this.options.steps; k++) {
      const { value, grads } = valueAndGradsOf(loss, cur);
      opts.onStep?.(k, value);
      losses.push(value);
      const next: Params = {};
      const nextVelocity: Params = {};
      for (const [name, x] of Object.entries(cur)) {
        const g = tf.mul(cut ? stopGradient(grads[name]!) : grads[name]!, B);
        nextVelocity[name] = velocity[name] ? tf.add(tf.mul(velocity[name]!, this.momentum), g) : g;
        next[name] = tf.sub(x, tf.mul(nextVelocity[name]!, this.options.lr));
      }
      cur = next;
      velocity = nextVelocity;
    }
    return { vars: cur, losses };
  }
}

describe('docs/plugins.md, "Your own inner optimiser"', () => {
  const dataset = examples.oscillatorDataset({ nTrain: 8, nTest: 8, seqLength: 5 });
  const predictor = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 8 });
  const embedding = new examples.MlpEmbedding(2, 8, 2);

  for (const tailor of ['all', 'cn'] as const) {
    it(`with momentum 0 and one step, meta-trains and tailors exactly as core's SGD (mode '${tailor}')`, async () => {
      const before = tf.memory().numTensors;
      const config = { seed: 0, noether: { tailor }, inner: { lr: 0.05, steps: 1 } };
      const fit = { epochs: 1, batchSize: 4, seed: 0 };
      const score = { batchSize: 4, seed: 0, metrics: [mseMetric] };
      const mine = defineExperiment({ predictor, embedding, dataset, inner: new MomentumInner({ lr: 0.05, steps: 1 }, 0) }, config);
      const core = defineExperiment({ predictor, embedding, dataset }, config);
      // Two meta-steps: the second step's loss depends on the first one's meta-gradient through the optimiser.
      const a = await train(mine.setup, dataset, mine.initState(), fit);
      const b = await train(core.setup, dataset, core.initState(), fit);
      expect(a.losses).toHaveLength(2);
      expect(a.losses).toEqual(b.losses);
      const ra = await evaluate(mine.testSetup, dataset, a.state, score);
      const rb = await evaluate(core.testSetup, dataset, b.state, score);
      expect(ra).toEqual(rb);
      expect(ra.tailored['mse']!.overall).not.toBe(ra.untailored['mse']!.overall);
      disposeMetaState(a.state);
      disposeMetaState(b.state);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('with momentum over two steps, the audit sees a meta-gradient of φ through it and only checked kernels', () => {
    const c = metaStepAuditCase('docs/momentum-inner/cn', () => {
      const p = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 4 });
      const e = new examples.MlpEmbedding(2, 3, 1);
      const setup: MetaSetup = { predictor: p, embedding: e, mode: 'noether', tailorMode: 'cn', form: '2a',
        inner: new MomentumInner({ lr: 0.1, steps: 2 }, 0.5), lrTheta: 1, lrPhi: 1 };
      return { setup, theta: p.init(1), phi: e.init(2), batch: dataset.gather('train', [0, 1, 2]) };
    });
    expect(auditSecondOrder(() => c.run()).unchecked).toEqual([]);
  });
});

describe('examples/custom-predictor', () => {
  // The README's config, with fewer epochs and trajectories.
  const config = (tailor?: 'all' | 'cn' | 'latent') => ({
    name: 'rec',
    predictor: { type: 'recurrent', dt: 3 / 29, hidden: 8 },
    embedding: { type: 'formula', formula: 'c0*q^2 + p^2' },
    dataset: { type: 'spring', trajectories: 10 },
    ...(tailor ? { noether: { tailor } } : {}),
    horizon: 5, inner: { lr: 0.01 }, outer: { epochs: 1, batchSize: 5, lrTheta: 1e-2, lrPhi: 1e-2 },
    eval: { batchSize: 5, metrics: ['mse'] },
  });

  for (const tailor of ['all', 'cn', 'latent'] as const) {
    it(`trains and evaluates from code with tailoring mode '${tailor}'`, async () => {
      const before = tf.memory().numTensors;
      const c = createContainer(registerDatasets, registerSymbolic, registerMetrics, registerRecurrent);
      const exp = await buildExperiment(c, config(tailor));
      expect(exp.setup.tailorMode).toBe(tailor);
      const { state, losses } = await train(exp.setup, exp.dataset, exp.initState(), { epochs: 1, batchSize: 5, seed: 0 });
      expect(losses.every(Number.isFinite)).toBe(true);
      const result = await evaluate(exp.testSetup, exp.dataset, state, { batchSize: 5, seed: 0, metrics: exp.metrics });
      // Tailoring must change the prediction (a mode that adapted nothing would leave them equal).
      expect(result.tailored['mse']!.overall).not.toBe(result.untailored['mse']!.overall);
      disposeMetaState(state);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('has an audit case per tailoring mode, each with only second-order-checked kernels', () => {
    const cases = recurrentAuditCases();
    expect(cases.map((c) => c.name)).toEqual(['all', 'cn', 'latent'].map((m) => `custom-predictor/recurrent/${m}`));
    for (const c of cases) {
      const { kernels, unchecked } = auditSecondOrder(() => c.run());
      for (const k of ['Sigmoid', 'Tanh', 'SplitV', 'BatchMatMul']) expect(kernels, c.name).toContain(k); // the LSTM cell's
      expect(unchecked, c.name).toEqual([]);
    }
  });

  it('compiled as its README says, trains from the CLI with --plugin, and eval and analyze inner-steps load it again', async () => {
    // Under examples/ so the compiled module resolves @noether/core and zod as a user's project would.
    const out = join(root, 'examples', 'dist', `.test-${process.pid}`);
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'examples'), '--noEmit', 'false', '--outDir', out], { stdio: 'pipe' });
      const plugin = join(out, 'custom-predictor', 'recurrent-predictor.js');
      expect(existsSync(plugin)).toBe(true);
      const dir = tmp();
      writeFileSync(join(dir, 'rec.json'), JSON.stringify(config('cn')));
      const runDir = join(dir, 'run');
      const r = await run(['train', '--config', 'rec.json', '--plugin', plugin, '--backend', 'cpu', '--no-progress', '--out', runDir], { cwd: dir });
      expect(r.code, r.err).toBe(0);
      expect(readJson(join(runDir, 'meta.json')).plugins).toEqual([plugin]);
      const tailored = (s: string) => Number(/^rec \(tailored\)\s+(\S+)/m.exec(s)?.[1]);
      expect(Number.isFinite(tailored(r.out))).toBe(true);
      const e = await run(['eval', runDir, '--backend', 'cpu'], { cwd: dir });
      expect(e.code, e.err).toBe(0);
      expect(tailored(e.out)).toBe(tailored(r.out));
      const a = await run(['analyze', 'inner-steps', runDir, '--steps', '2', '--backend', 'cpu'], { cwd: dir });
      expect(a.code, a.err).toBe(0);
      expect(readdirSync(join(runDir, 'analysis')).some((f) => f.startsWith('inner-steps-') && f.endsWith('-cn.csv'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('from the CLI, a tailoring mode the predictor lacks is a config error (exit 2) before any run folder exists', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config('latent'), predictor: { type: 'mlp', dt: 0.1, hidden: 4 } }));
    const r = await run(['train', '--config', 'bad.json', '--backend', 'cpu', '--no-progress', '--out', join(dir, 'run')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/noether\.tailor: predictor 'mlp' cannot tailor in mode 'latent'; it supports: all, cn \(set noether\.tailor to one of them\)/);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });
});

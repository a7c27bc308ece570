// The library snippets of docs/plugins.md ("Using it"), run as written but for the epochs, and
// examples/custom-predictor as its README uses it: in code, through the audit, and from the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContainer, buildExperiment, train, evaluate, disposeMetaState, auditSecondOrder, tf } from '@noether/core';
import { register as registerMlp } from '@noether/predictors-mlp';
import { register as registerDatasets } from '@noether/datasets';
import { register as registerMetrics } from '@noether/metrics';
import { register as registerSymbolic } from '@noether/embeddings-symbolic';
import { register } from '../../../examples/custom-embedding/quadratic-embedding.js';
import { register as registerRecurrent, auditCases as recurrentAuditCases } from '../../../examples/custom-predictor/recurrent-predictor.js';
import { readJson, run, tmp } from './helpers.js';

const root = new URL('../../../', import.meta.url).pathname;

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

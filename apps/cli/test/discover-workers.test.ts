// Meta-tailoring on worker threads (src/discover/meta-pool.ts): the same result.json whatever the
// number of workers. Workers exist only in the compiled CLI, so the runs go through the real
// launcher (built first, like bin.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '@noether/core';
import { VectorFieldPredictor } from '@noether/predictors-mlp';
import { parseFormula } from '@noether/embeddings-symbolic';
import { fromPlain, jobTailoring, runMetaJobs, toPlain, type MetaContext, type MetaJob } from '../src/discover/meta-pool.js';
import { rolloutErrors } from '../src/discover/evaluate.js';
import buildForBin from './build-for-bin.js';
import { readJson, tmp } from './helpers.js';

const BIN = new URL('../bin/noether.mjs', import.meta.url).pathname;
const { NOETHER_BACKEND: _b, NOETHER_WASM_THREADS: _t, ...ENV } = process.env;
const TINY = ['--pretrain-steps', '20', '--epochs', '2', '--top-k', '3', '--max-ranked', '4', '--fit-steps', '20', '--fit-restarts', '1',
  '--lr-exponents=-2,-1', '--hidden', '8'];

/** Trajectories conserving q² + 3p (a formula with a parameter in 6 nodes; depth 6 finds several
 * spellings of it, which ranking keeps as one law, and other laws the short fit accepts). */
function writeCsv(file: string): void {
  const rows = ['trajectory,t,q,p'];
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 20; k++) {
      const q = (0.5 + 0.08 * i) * Math.cos(0.1 * k + 0.7 * i);
      rows.push(`${i},${(0.1 * k).toFixed(2)},${q.toFixed(6)},${((1 + 0.2 * i - q * q) / 3).toFixed(6)}`);
    }
  }
  writeFileSync(file, rows.join('\n') + '\n');
}

function discover(args: string[], out: string, workers: number) {
  const r = spawnSync(process.execPath, [BIN, '--backend', 'wasm', 'discover', ...args, ...TINY, '--workers', String(workers), '--out', out], { env: ENV, encoding: 'utf8', timeout: 120_000 });
  expect(r.error, r.stderr).toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return { stderr: r.stderr, result: readJson(join(out, 'result.json')) };
}

/** result.json without what may differ: timings and thread counts. */
function comparable(r: Record<string, unknown>): string {
  const { seconds: _s, workers: _w, metaWorkers: _m, ...rest } = r;
  return JSON.stringify(rest);
}

describe('discover meta-tailoring on workers (built launcher)', () => {
  beforeAll(() => buildForBin(), 600_000);

  it('candidates with parameters: the same result.json on 1 and 2 workers', () => {
    const dir = tmp('discover-workers-');
    const csv = join(dir, 'data.csv');
    writeCsv(csv);
    // 8 training sequences, batch 8: one meta-step an epoch, 2 per job.
    const args = ['--data', csv, '--format', 'csv', '--inputs', 'q:L,p:L', '--depth', '6', '--batch-size', '8'];
    const [one, two] = [1, 2].map((w) => discover(args, join(dir, `w${w}`), w));
    expect(one!.result.metaWorkers).toBe(1);
    expect(two!.result.metaWorkers).toBe(2);
    const r = two!.result;
    // The candidates and the fine-tuned baseline, spread over both workers.
    expect(r.stages.metaTailored).toBeGreaterThanOrEqual(1);
    expect(two!.stderr).toMatch(new RegExp(`\\[meta\\] ${r.stages.metaTailored + 1} meta-tailoring runs done in [\\d.]+ s on 2 worker\\(s\\)`));
    const tailored = r.candidates.filter((c: { metaParams?: number[] }) => c.metaParams);
    expect(tailored.length).toBe(r.stages.metaTailored);
    // φ moved away from the search's fit: the parameters went through the workers and back.
    expect(tailored.some((c: { metaParams: number[]; searchParams: number[] }) => c.metaParams.length > 0 && c.metaParams[0] !== c.searchParams[0])).toBe(true);
    expect(r.formula).not.toBeNull();
    expect(r.rmse.vanillaFinetuned).toBeGreaterThan(0);
    expect(comparable(r)).toBe(comparable(one!.result));
  }, 300_000);

  it('the oracle and the fine-tuned baseline: the same on 1 and 2 workers', () => {
    const dir = tmp('discover-workers-');
    const [one, two] = [1, 2].map((w) => discover(['spring', '--depth', '2', '--batch-size', '25'], join(dir, `w${w}`), w));
    expect(two!.result.metaWorkers).toBe(2);
    expect(two!.result.rmse.oracle).toBeGreaterThan(0);
    expect(comparable(two!.result)).toBe(comparable(one!.result));
  }, 300_000);
});

/** Runs the launcher, sends SIGINT `delayMs` after stderr matches `trigger`; the exit code and the seconds from SIGINT to exit. */
function interrupted(args: string[], trigger: RegExp, delayMs = 0): Promise<{ code: number | null; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--backend', 'wasm', 'discover', ...args], { env: ENV });
    let stderr = '';
    let sent = 0;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && trigger.test(stderr)) {
        sent = performance.now() + delayMs;
        setTimeout(() => child.kill('SIGINT'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr, seconds: (performance.now() - sent) / 1000 }));
  });
}

describe('discover Ctrl-C on worker threads (built launcher)', () => {
  beforeAll(() => buildForBin(), 600_000);
  const base = ['spring', '--depth', '2', '--fit-steps', '5', '--fit-restarts', '1', '--hidden', '8', '--lr-exponents=-2', '--max-ranked', '2', '--top-k', '2'];

  it('during pre-training (a synchronous loop, run on a worker): exit 130 within seconds, the search kept', async () => {
    const out = join(tmp('discover-int-'), 'out');
    // 10^6 steps would take many minutes: only an interrupt ends this run quickly.
    const r = await interrupted([...base, '--pretrain-steps', '1000000', '--workers', '1', '--out', out], /\[pretrain\] step/);
    expect(r.code, r.stderr).toBe(130);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toMatch(/interrupted during pre-training: no result\.json written/);
    expect(existsSync(join(out, 'shard-0-of-1.json'))).toBe(true);
  }, 120_000);

  it('during meta-tailoring on 2 workers: the workers are stopped, exit 130 within seconds', async () => {
    const out = join(tmp('discover-int-'), 'out');
    // 10^5 epochs of one step each: the jobs are still running 3 s after the sweep.
    const r = await interrupted([...base, '--pretrain-steps', '10', '--epochs', '100000', '--workers', '2', '--out', out], /\[rank\] untailored/, 3000);
    expect(r.code, r.stderr).toBe(130);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toMatch(/interrupted during meta-tailoring: no result\.json written/);
    expect(existsSync(join(out, 'result.json'))).toBe(false);
  }, 120_000);
});

describe('runMetaJobs in-process (from sources)', () => {
  it('runs every kind of job, says why it ran in-process, and leaks no tensors', async () => {
    const field = { dt: 0.1, hidden: 8, stateDim: 2, integrator: 'euler' as const };
    const theta = new VectorFieldPredictor('mlp', field).init(0);
    const n = 8;
    const T = 10;
    const ctx: MetaContext = {
      backend: tf.getBackend(), field, theta: toPlain(theta),
      train: { values: Float32Array.from({ length: n * T * 2 }, (_, i) => Math.sin(i * 0.37)), n, T },
      options: { epochs: 1, batchSize: 4, seed: 0, lrTheta: 1e-4, lrPhi: 1e-3 },
    };
    tf.dispose(Object.values(theta));
    const before = tf.memory().numTensors;
    const done: number[] = [];
    const jobs: MetaJob[] = [
      { label: 'candidate q^2 + c*p', mode: 'noether', embedding: { expr: parseFormula('q*q + c*p'), params: [3] }, lr: 1e-2 },
      { label: 'the fine-tuned vanilla baseline', mode: 'baseline', lr: 0 },
      { label: 'the oracle', mode: 'oracle', embedding: { oracle: 'spring' }, lr: 1e-2 },
    ];
    const { results, pool } = await runMetaJobs(ctx, jobs, { workers: 2, onDone: (j) => done.push(j) });
    expect(tf.memory().numTensors).toBe(before);
    expect(pool).toEqual({ workers: 1, note: 'running from sources: no compiled worker, meta-tailored in-process' });
    expect(done).toEqual([0, 1, 2]);
    expect(results[0]!.trainMse).toBeGreaterThan(0);
    expect(Object.keys(results[0]!.phi)).toHaveLength(1);
    expect(results[0]!.phi[Object.keys(results[0]!.phi)[0]!]!.values[0]).not.toBe(3);
    // Every job reports its training rollout MSE with the θ (and φ) it returns: the fine-tuned
    // baseline untailored, the oracle tailored; recomputed here from what came back.
    const predictor = new VectorFieldPredictor('mlp', field);
    const back = (j: number) => fromPlain(results[j]!.theta);
    const t1 = back(1);
    expect(results[1]!.trainMse).toBe(rolloutErrors(predictor, t1, ctx.train).mse);
    const t0 = fromPlain(ctx.theta);
    expect(results[1]!.trainMse).not.toBe(rolloutErrors(predictor, t0, ctx.train).mse);
    const t2 = back(2);
    const oracle = jobTailoring(jobs[2]!)!;
    expect(results[2]!.trainMse).toBe(rolloutErrors(predictor, t2, ctx.train, oracle).mse);
    tf.dispose([...Object.values(t0), ...Object.values(t1), ...Object.values(t2)]);
    expect(Object.keys(results[2]!.theta)).toEqual(Object.keys(ctx.theta));
  });
});

import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/main.js';
import type { Io } from '../src/cli/io.js';
import { parseInputs, parseUnit } from '../src/discover/units.js';
import { CHUNKS, chunksOfShard, mergeChunks, runChunks, type ChunkJob } from '../src/discover/search-pool.js';
import { PENDULUM, parseFormula, symbolicEmbedding, type ShardResult } from '@noether/embeddings-symbolic';
import { tf } from '@noether/core';
import { VectorFieldPredictor } from '@noether/predictors-mlp';
import { embeddingScale, rolloutErrors, scaledEmbedding } from '../src/discover/evaluate.js';
import { checkOutDir } from '../src/discover/out-dir.js';
import { finetuneNote, tailoringNote } from '../src/discover/pipeline.js';
import { readJson, run, tmp } from './helpers.js';

function fakeIo(cwd: string) {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false, columns: 100, env: {}, cwd,
    onInterrupt: () => () => {},
  };
  return { io, out: () => out, err: () => err };
}

describe('discover units', () => {
  it('parses units and inputs', () => {
    expect(parseUnit('M*L^2/T')).toEqual([2, 1, -1]);
    expect(parseUnit('1/T')).toEqual([0, 0, -1]);
    expect(parseUnit('1')).toEqual([0, 0, 0]);
    expect(parseInputs('q:1,p:M*L/T').map((i) => [i.name, i.unit])).toEqual([['q', [0, 0, 0]], ['p', [1, 1, -1]]]);
    expect(() => parseUnit('kg')).toThrow(/kg/);
    expect(() => parseInputs('q')).toThrow(/NAME:UNIT/);
  });
});

describe('discover tailoring scale', () => {
  it('tailors every spelling of a law alike (p² − 3cos q, cos q − p²/3, 2p² − 6cos q)', () => {
    const n = 3, T = 6;
    const values = new Float32Array(n * T * 2);
    for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) {
      values[(i * T + t) * 2] = 0.3 * t - 0.7 + 0.1 * i;
      values[(i * T + t) * 2 + 1] = 1.2 + 0.2 * i - 0.15 * t;
    }
    const obs = { values, n, T };
    const predictor = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 8, integrator: 'euler' });
    const theta = predictor.init(1);
    const before = tf.memory().numTensors;
    const run = (text: string, c: number[], scaled: boolean) => {
      const emb = symbolicEmbedding(parseFormula(text), c);
      const phi = emb.init(0);
      const scale = scaled ? embeddingScale(emb, phi, obs) : 1;
      const mse = rolloutErrors(predictor, theta, obs, { embedding: scaledEmbedding(emb, scale), phi, lr: 0.05 }).mse;
      tf.dispose(Object.values(phi));
      return mse;
    };
    const untailored = rolloutErrors(predictor, theta, obs).mse;
    const a = run('p^2 - c*cos(q)', [3], true);
    expect(Math.abs(a - untailored) / untailored).toBeGreaterThan(1e-3); // the step does something
    expect(run('cos(q) - c*p^2', [1 / 3], true)).toBeCloseTo(a, 6);
    expect(run('c0*p^2 - c1*cos(q)', [2, 6], true)).toBeCloseTo(a, 6);
    // Unscaled, the same lr is a 9× larger step for one spelling than for the other.
    expect(Math.abs(run('cos(q) - c*p^2', [1 / 3], false) - run('p^2 - c*cos(q)', [3], false))).toBeGreaterThan(1e-4 * a);
    expect(tf.memory().numTensors).toBe(before);
    // A constant has no spread: scale 1, not Infinity.
    const k = symbolicEmbedding(parseFormula('c'), [3]);
    const kp = k.init(0);
    expect(embeddingScale(k, kp, obs)).toBe(1);
    tf.dispose(Object.values(kp));
    tf.dispose(Object.values(theta));
  });
});

describe('finetuneNote', () => {
  const o = (train: [number, number], test: [number, number]) => ({
    trainMse: { vanilla: train[0], finetuned: train[1] }, testRmse: { vanilla: test[0], finetuned: test[1] }, steps: 3, lrTheta: 1e-4, sequences: 25,
  });
  it('says nothing when fine-tuning did not make the test rollouts worse', () => {
    expect(finetuneNote(o([2e-3, 3e-3], [0.05, 0.04]))).toBeUndefined();
    expect(finetuneNote(o([2e-3, 1e-3], [0.05, 0.05]))).toBeUndefined();
    expect(finetuneNote(o([2e-3, 1e-3], [0.05, NaN]))).toBeUndefined();
  });
  it('tells an overshoot (training loss up too) from a fit that does not carry over (training loss down)', () => {
    const up = finetuneNote(o([2e-3, 3e-3], [0.05, 0.06]))!;
    expect(up).toMatch(/worse than vanilla on the test rollouts \(test RMSE 6\.000e-2 against 5\.000e-2\) and also on the training rollouts/);
    expect(up).toMatch(/training MSE 3\.000e-3 against 2\.000e-3\): its 3 Adam steps at --lr-theta 0\.0001 overshot/);
    expect(up).toMatch(/compare Noether with vanilla\+ft/);
    const down = finetuneNote(o([2e-3, 1e-3], [0.05, 0.06]))!;
    expect(down).toMatch(/fits its training rollouts better than vanilla \(training MSE 1\.000e-3 against 2\.000e-3\) but the test rollouts worse/);
    expect(down).toMatch(/on 25 training sequences/);
    expect(down).not.toMatch(/overshot/);
  });
});

describe('tailoringNote', () => {
  it('blames the law only when vanilla+ft (the same θ steps, untailored) did not rise as far', () => {
    expect(tailoringNote('q^2 + p^2', { noether: 1e-3, vanilla: 2e-3, finetuned: 3e-3 })).toBeUndefined();
    const notLaw = tailoringNote('q^2 + p^2', { noether: 3e-3, vanilla: 2e-3, finetuned: 1e-3 })!;
    expect(notLaw).toBe('meta-tailoring with q^2 + p^2 raises the long-term training MSE (3.000e-3 against 2.000e-3 untailored): it is not a useful conservation law for this model');
    expect(tailoringNote('q^2 + p^2', { noether: 3e-3, vanilla: 2e-3, finetuned: null })).toBe(notLaw);
    expect(tailoringNote('q^2 + p^2', { noether: 5e-3, vanilla: 2e-3, finetuned: 4e-3 })).toMatch(/; vanilla\+ft, the same θ steps without tailoring, 4\.000e-3\): it is not a useful conservation law/);
    const steps = tailoringNote('q^2 + p^2', { noether: 3e-3, vanilla: 2e-3, finetuned: 4e-3 })!;
    expect(steps).toMatch(/\(3\.000e-3 against 2\.000e-3 untailored\), but less than the same θ steps without tailoring \(vanilla\+ft 4\.000e-3\): the rise is the meta-training's/);
    expect(steps).not.toMatch(/not a useful/);
  });
});

describe('discover search sharding', () => {
  it('gives the same result however the chunks are split across machines', async () => {
    // Pendulum-like data: two sequences along p² − 3 cos q = const.
    const values: number[] = [];
    for (const E of [1, 2.5, 4]) for (let t = 0; t < 6; t++) {
      const q = 0.2 * t - 0.5;
      values.push(q, Math.sqrt(E + 3 * Math.cos(q)));
    }
    const job: ChunkJob = { system: PENDULUM, depth: 4, seed: 3, data: { values: Float64Array.from(values), sequences: 3, steps: 6, dim: 2 }, fit: { steps: 20, restarts: 1 } };
    const all = await runChunks(job, Array.from({ length: CHUNKS }, (_, c) => c), 1);
    const whole = mergeChunks(all.results);
    const parts: ShardResult[] = [];
    for (let i = 0; i < 3; i++) parts.push(...(await runChunks(job, chunksOfShard(i, 3), 1)).results);
    const split = mergeChunks(parts.reverse());
    expect(JSON.stringify(split)).toEqual(JSON.stringify(whole));
    expect(whole.counts.assigned).toBe(whole.enumerated);
    expect(() => mergeChunks(parts.slice(1))).toThrow(/missing/);
  });
});

describe('noether discover (end to end, tiny)', () => {
  it('writes result.json and the rollout-error plot (RK4 steps, recorded)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    const f = fakeIo(dir);
    const code = await main(['discover', 'spring', '--depth', '3', '--pretrain-steps', '20', '--epochs', '1', '--top-k', '1', '--max-ranked', '2',
      '--fit-steps', '10', '--fit-restarts', '1', '--lr-exponents', '-2,-1', '--batch-size', '25', '--hidden', '8', '--hnn', '--integrator', 'rk4', '--workers', '1', '--out', 'out'], f.io);
    expect(code, f.err()).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'out', 'result.json'), 'utf8'));
    expect(r.system).toBe('spring');
    expect(r.options.integrator).toBe('rk4');
    expect(f.out()).toMatch(/system\s+spring \(RK4 steps\)/);
    expect(r.inputs).toEqual([{ name: 'q', unit: 'L' }, { name: 'p', unit: 'M*L/T' }]);
    expect(r.stages.enumerated).toBeGreaterThan(0);
    expect(r.stages.counts.assigned).toBe(r.stages.enumerated);
    expect(r.data).toMatchObject({ train: 25, test: 25, length: 30 });
    for (const k of ['vanilla', 'vanillaFinetuned', 'oracle', 'hnn']) expect(r.rmse[k]).toBeGreaterThan(0);
    expect(r.curves.vanilla).toHaveLength(29);
    expect(r.curves.hnn).toHaveLength(29);
    expect(r.rmse.hnn).not.toBe(r.rmse.vanilla);
    expect(r.oracle.formula).toBe('q^2 + p^2');
    if (r.formula !== null) {
      expect(typeof r.formula).toBe('string');
      expect(r.rmse.noether).toBeGreaterThan(0);
      expect(r.parameters.metaTailored).toHaveLength(r.parameters.search.length);
    }
    const png = readFileSync(join(dir, 'out', 'rollout-error.png'));
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    expect(f.out()).toMatch(/RMSE\s+vanilla.*HNN \d/);
  }, 300_000);

  // The fine-tuned control (vanilla+ft): its θ is the one tested, and when it ends worse than the
  // vanilla MLP the run says whether the fine-tuning raised its own (training) loss.
  it('tests the fine-tuned θ, and explains a vanilla+ft worse than vanilla', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    // Depth 3 finds no law: the run is pre-training, the fine-tuned baseline, the oracle and the test.
    const base = ['discover', 'spring', '--depth', '3', '--pretrain-steps', '20', '--top-k', '1', '--max-ranked', '2', '--fit-steps', '10',
      '--fit-restarts', '1', '--lr-exponents=-2,-1', '--hidden', '8', '--workers', '1'];
    const go = async (name: string, extra: string[]) => {
      const f = fakeIo(dir);
      expect(await main([...base, ...extra, '--out', name], f.io), f.err()).toBe(0);
      return { r: JSON.parse(readFileSync(join(dir, name, 'result.json'), 'utf8')), out: f.out(), err: f.err() };
    };
    const worseNote = /vanilla\+ft is worse than vanilla on the test rollouts/;
    // No fine-tuning steps: vanilla+ft is the pre-trained θ, through the worker's result and back.
    const none = await go('ep0', ['--epochs', '0']);
    expect(none.r.rmse.vanillaFinetuned).toBe(none.r.rmse.vanilla);
    expect(none.r.trainMse.vanillaFinetuned).toBe(none.r.trainMse.vanilla);
    expect(none.r.trainMse.vanilla).toBeGreaterThan(0);
    // A small lr lowers the loss it minimises (untrained, 20 steps: far from any minimum).
    const small = await go('small', ['--epochs', '1', '--lr-theta', '0.01']);
    expect(small.r.trainMse.vanilla).toBe(none.r.trainMse.vanilla);
    expect(small.r.trainMse.vanillaFinetuned).toBeLessThan(small.r.trainMse.vanilla);
    // lr 1: Adam's first step moves every weight by ~1 and overshoots: worse on training and test.
    const big = await go('big', ['--epochs', '1', '--lr-theta', '1']);
    expect(big.r.trainMse.vanillaFinetuned).toBeGreaterThan(big.r.trainMse.vanilla);
    expect(big.r.rmse.vanillaFinetuned).toBeGreaterThan(big.r.rmse.vanilla);
    const note = big.r.notes.find((n: string) => worseNote.test(n));
    expect(note).toContain(`training MSE ${big.r.trainMse.vanillaFinetuned.toExponential(3)} against ${big.r.trainMse.vanilla.toExponential(3)}`);
    expect(note).toContain('its 1 Adam step at --lr-theta 1 overshot');
    expect(big.err).toContain(`note: ${note}`);
    expect(big.out).toMatch(/vanilla\+ft \d\.\d+ \(worse than vanilla: see the note\)/);
    // The note and the mark only when vanilla+ft is worse.
    for (const x of [none, small]) {
      const worse = x.r.rmse.vanillaFinetuned > x.r.rmse.vanilla;
      expect(x.r.notes.some((n: string) => worseNote.test(n) || /vanilla\+ft fits its training rollouts better/.test(n))).toBe(worse);
      expect(x.out.includes('worse than vanilla: see the note')).toBe(worse);
    }
  }, 300_000);

  it('takes any number of state columns from a CSV (3 here: x + y conserved, v not)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    const rows = ['trajectory,t,x,y,v'];
    for (let i = 0; i < 12; i++) for (let k = 0; k < 10; k++) {
      const s = Math.sin(0.3 * k + i);
      rows.push(`${i},${(0.1 * k).toFixed(1)},${(0.2 * i + s).toFixed(6)},${(1 - s).toFixed(6)},${Math.cos(0.3 * k + i).toFixed(6)}`);
    }
    writeFileSync(join(dir, 'd.csv'), rows.join('\n') + '\n');
    const args = ['discover', '--data', 'd.csv', '--format', 'csv', '--inputs', 'x:L,y:L,v:L/T', '--depth', '3', '--pretrain-steps', '20',
      '--epochs', '1', '--top-k', '1', '--max-ranked', '3', '--fit-steps', '10', '--fit-restarts', '1', '--lr-exponents=-3,-2', '--hidden', '8', '--workers', '1'];
    const f = fakeIo(dir);
    expect(await main([...args, '--out', 'out'], f.io), f.err()).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'out', 'result.json'), 'utf8'));
    expect(r.inputs.map((i: { name: string }) => i.name)).toEqual(['x', 'y', 'v']);
    expect(r.oracle).toBeNull();
    // x + y (or x − (−y), …) is the one conserved quantity within 3 nodes.
    expect(r.candidates[0].formula).toMatch(/x/);
    expect(r.candidates[0].formula).toMatch(/y/);
    expect(r.candidates[0].formula).not.toMatch(/v/);
    expect(r.rmse.noether).toBeGreaterThan(0);
    expect(r.curves.vanilla).toHaveLength(9);
    // At depth 1 no formula (a single input) is conserved: the run says what to try.
    const one = fakeIo(dir);
    const depth1 = [...args];
    depth1[depth1.indexOf('--depth') + 1] = '1';
    expect(await main([...depth1, '--out', 'out-d1'], one.io), one.err()).toBe(0);
    expect(one.err()).toMatch(/note: no formula of up to 1 nodes passed the conservation filter: a law may need more nodes \(--depth 2, at most 9/);
    expect(JSON.parse(readFileSync(join(dir, 'out-d1', 'result.json'), 'utf8')).notes.join('\n')).toMatch(/no formula of up to 1 nodes/);
    // An HNN pairs q's with p's: an odd number of columns is refused before any work, naming the fix.
    const g = fakeIo(dir);
    expect(await main([...args, '--hnn', '--out', 'out-hnn'], g.io)).not.toBe(0);
    expect(g.err()).toMatch(/--hnn needs an even number of state columns.*has 3 \(x, y, v\)/);
    expect(existsSync(join(dir, 'out-hnn', 'result.json'))).toBe(false);
  }, 300_000);

  it('reads the Schmidt–Lipson real pendulum, whose columns are named o, v, as (q, p) by default', async () => {
    const file = fileURLToPath(new URL('../../../../shared/data/schmidt-lipson/real_pend_h_1.txt', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    const f = fakeIo(dir);
    const code = await main(['discover', 'real-pendulum', '--data', file, '--depth', '3', '--pretrain-steps', '10', '--epochs', '1', '--top-k', '1',
      '--max-ranked', '2', '--fit-steps', '5', '--fit-restarts', '1', '--lr-exponents=-5', '--hidden', '8', '--hnn=false', '--workers', '1', '--out', 'out'], f.io);
    expect(code, f.err()).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'out', 'result.json'), 'utf8'));
    expect(r.inputs).toEqual([{ name: 'q', unit: '1' }, { name: 'p', unit: '1/T' }]);
    expect(r.rmse.oracle).toBeGreaterThan(0);
    // Named inputs must match the file's columns.
    const g = fakeIo(dir);
    expect(await main(['discover', '--data', file, '--format', 'schmidt-lipson', '--inputs', 'q:1,p:1/T', '--out', 'o2'], g.io)).toBe(2);
    expect(g.err()).toMatch(/--inputs names q, p but .* has state columns o, v/);
  }, 300_000);

  it('rejects bad input with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    const f = fakeIo(dir);
    expect(await main(['discover', 'planet'], f.io)).toBe(2);
    expect(f.err()).toMatch(/unknown system 'planet'/);
    const deep = fakeIo(dir);
    expect(await main(['discover', 'spring', '--depth', '20'], deep.io)).toBe(2);
    expect(deep.err()).toMatch(/--depth needs an integer >= 1 and <= 9, got '20'/);
    const g = fakeIo(dir);
    expect(await main(['discover', '--data', 'x.csv', '--format', 'csv'], g.io)).toBe(2);
    expect(g.err()).toMatch(/--inputs/);
    const h = fakeIo(dir);
    expect(await main(['discover', 'spring', '--integrator', 'rk2'], h.io)).toBe(2);
    expect(h.err()).toMatch(/--integrator must be one of euler, rk4, got 'rk2'/);
    // Uneven sampling: the model steps by one Δt, so the file is refused, naming the trajectory.
    const rows = ['trajectory,t,q,p'];
    for (const id of ['a', 'b']) for (const t of id === 'b' ? [0, 0.1, 0.25, 0.35] : [0, 0.1, 0.2, 0.3]) rows.push(`${id},${t},${Math.cos(t)},${Math.sin(t)}`);
    writeFileSync(join(dir, 'uneven.csv'), rows.join('\n') + '\n');
    const u = fakeIo(dir);
    expect(await main(['discover', '--data', 'uneven.csv', '--format', 'csv', '--inputs', 'q:L,p:L', '--depth', '2'], u.io)).toBe(2);
    expect(u.err()).toMatch(/trajectory 'b' steps from t = 0\.1 to 0\.25 .*resample the data to equal time steps/);
    expect(existsSync(join(dir, 'runs'))).toBe(false);
  });

  it('records the default integrator (euler) with the options, e.g. in a shard file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    const f = fakeIo(dir);
    expect(await main(['discover', 'spring', '--depth', '2', '--fit-steps', '5', '--fit-restarts', '1', '--shard', '0/64', '--workers', '1', '--out', 'out'], f.io), f.err()).toBe(0);
    const shard = JSON.parse(readFileSync(join(dir, 'out', 'shard-0-of-64.json'), 'utf8'));
    expect(shard.options.integrator).toBe('euler');
    const help = fakeIo(dir);
    expect(await main(['discover', '--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/--integrator NAME\s+how the MLP \(and HNN\) step .*\(euler\|rk4\)/s);
  });
});

/** A spring-like CSV: `n` trajectories of `T` samples, id column `traj` (as `noether generate spring` writes). */
function springCsv(file: string, n: number, T = 12): void {
  const rows = ['traj,t,q,p'];
  for (let i = 0; i < n; i++) for (let k = 0; k < T; k++) rows.push(`${i},${(0.1 * k).toFixed(1)},${Math.cos(0.1 * k + i).toFixed(6)},${Math.sin(0.1 * k + i).toFixed(6)}`);
  writeFileSync(file, rows.join('\n') + '\n');
}

const CSV = ['--format', 'csv', '--id-column', 'traj', '--inputs', 'q:1,p:1', '--depth', '1', '--workers', '1'];

describe('noether discover: bad data and flags are usage errors before any work', () => {
  it.each([
    [1, [], /1 trajectory split by --test-fraction 0\.5 into 0 for training and 1 for testing; discover needs at least 2 training sequences .*: give at least 3 trajectories$/m],
    [2, [], /2 trajectories split .* into 1 for training and 1 for testing; .*give at least 3 trajectories, or cut the trajectories into shorter sequences with --seq-length N/],
    [6, ['--test-fraction', '0.9'], /6 trajectories split by --test-fraction 0\.9 into 1 for training and 5 for testing; .*: lower --test-fraction/],
    [1, ['--seq-length', '4'], /into 0 for training and 1 for testing \(0 and 3 sequences of --seq-length 4\)/],
    [6, ['--seq-length', '1'], /--seq-length needs an integer >= 2, got '1'/],
    [6, ['--seq-length', '20'], /has 12 samples, fewer than the 20 required \(--seq-length 20\)/],
    [6, ['--test-fraction', '1.5'], /--test-fraction is the share of trajectories held out for testing: it must be between 0 and 1 \(exclusive\), got 1\.5/],
    [6, ['--test-fraction', '0'], /--test-fraction .* must be between 0 and 1 \(exclusive\), got 0/],
    [1, ['--test-fraction', '0'], /--test-fraction .* must be between 0 and 1 \(exclusive\), got 0/],
  ] as const)('%i trajectories with %j', async (n, extra, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    springCsv(join(dir, 'd.csv'), n);
    const f = fakeIo(dir);
    expect(await main(['discover', '--data', 'd.csv', ...CSV, ...extra, '--out', 'out'], f.io)).toBe(2);
    expect(f.err()).toMatch(message);
    expect(f.err()).not.toMatch(/\[search\]|Cannot read|Tensor/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('names --id-column and the CSV header when the id column is missing (generate spring writes `traj`)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    springCsv(join(dir, 'd.csv'), 6);
    const f = fakeIo(dir);
    expect(await main(['discover', '--data', 'd.csv', '--format', 'csv', '--inputs', 'q:1,p:1', '--out', 'out'], f.io)).toBe(2);
    expect(f.err()).toMatch(/trajectory-id column 'trajectory' not found; the header has: 'traj', 't', 'q', 'p': give the trajectory-id column with --id-column traj/);
    const g = fakeIo(dir);
    expect(await main(['discover', '--data', 'd.csv', ...CSV, '--time-column', 'time', '--out', 'out'], g.io)).toBe(2);
    expect(g.err()).toMatch(/time column 'time' not found.*: give the time column with --time-column t/);
  });

  it('refuses flags that do not apply to a generated system', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    for (const [flag, value, msg] of [['--seq-length', '5', /--seq-length is for real-pendulum or file input/], ['--test-fraction', '0.5', /--test-fraction is for --format csv/]] as const) {
      const f = fakeIo(dir);
      expect(await main(['discover', 'spring', flag, value], f.io)).toBe(2);
      expect(f.err()).toMatch(msg);
    }
  });
});

describe('noether discover --out', () => {
  it('refuses a folder holding another run, or a file, before any work; keeps what is there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    springCsv(join(dir, 'd.csv'), 6);
    const run = join(dir, 'toy1');
    mkdirSync(run);
    const result = '{"status":"completed","table":[]}\n';
    writeFileSync(join(run, 'result.json'), result);
    writeFileSync(join(run, 'meta.json'), '{}\n');
    const f = fakeIo(dir);
    expect(await main(['discover', '--data', 'd.csv', ...CSV, '--out', 'toy1'], f.io)).toBe(2);
    expect(f.err()).toMatch(/--out .*toy1 already holds files that are not a noether discover run \(meta\.json, result\.json\).*choose a new folder/);
    expect(f.err()).not.toMatch(/\[data\]/);
    expect(readFileSync(join(run, 'result.json'), 'utf8')).toBe(result);
    writeFileSync(join(dir, 'afile'), 'x');
    const g = fakeIo(dir);
    expect(await main(['discover', '--data', 'd.csv', ...CSV, '--out', 'afile'], g.io)).toBe(2);
    expect(g.err()).toMatch(/--out .*afile is a file, not a folder/);
    expect(g.err()).not.toMatch(/\[data\]/);
  });

  it('accepts a folder holding only discover output (its own result, plot, shard files)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'discover-'));
    expect(() => checkOutDir(join(dir, 'new', 'deeper'))).not.toThrow();
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ version: 1, stages: {}, candidates: [], rmse: {} }));
    writeFileSync(join(dir, 'rollout-error.png'), '');
    writeFileSync(join(dir, 'shard-0-of-1.json'), JSON.stringify({ kind: 'noether-discover-shard' }));
    expect(() => checkOutDir(dir)).not.toThrow();
    writeFileSync(join(dir, 'shard-1-of-2.json'), '{"kind":"other"}');
    expect(() => checkOutDir(dir)).toThrow(/not a noether discover run \(shard-1-of-2\.json\)/);
  });
});

describe('noether discover: Ctrl-C', () => {
  const TINY = ['--depth', '3', '--pretrain-steps', '20', '--epochs', '1', '--top-k', '1', '--max-ranked', '2', '--fit-steps', '10', '--fit-restarts', '1',
    '--lr-exponents', '-2,-1', '--hidden', '8', '--workers', '1'];

  it('during the search: stops at a chunk boundary, exit 130, nothing written', async () => {
    const dir = tmp('discover-int-');
    // Interrupted (synchronously, in process) as the data line appears: the search's first chunk
    // sees it. Interrupting at the first [search] line raced the search: its progress line is
    // throttled, so a short search printed only "done" and the interrupt landed in pre-training.
    let at = 0;
    const r = await run(['discover', 'spring', ...TINY, '--out', join(dir, 'out')], {
      cwd: dir,
      onErr: (chunk, interrupt) => {
        if (!at && chunk.startsWith('[data]')) {
          at = performance.now();
          interrupt();
        }
      },
    });
    expect(r.code, r.err).toBe(130);
    expect(r.err).not.toMatch(/\[search\] done/);
    expect(r.err).toMatch(/interrupted during the search: no result\.json written/);
    expect(r.err).not.toMatch(/\[pretrain\]/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  }, 120_000);

  it('after the search: stops within the lr sweep, keeps the search, and merge finishes the run', async () => {
    const dir = tmp('discover-int-');
    const out = join(dir, 'out');
    const r = await run(['discover', 'spring', ...TINY, '--out', out], {
      cwd: dir,
      onErr: (chunk, interrupt) => chunk.startsWith('[rank]') && interrupt(),
    });
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/\[interrupt\] the finished search is kept in .*shard-0-of-1\.json; finish the run with: noether discover merge --out /);
    expect(r.err).toMatch(/interrupted during the (oracle )?lr sweep: no result\.json written/);
    expect(r.err).not.toMatch(/\[meta/);
    expect(existsSync(join(out, 'result.json'))).toBe(false);
    const m = await run(['discover', 'merge', '--workers', '1', '--out', out, join(out, 'shard-0-of-1.json')], { cwd: dir });
    expect(m.code, m.err).toBe(0);
    expect(readJson(join(out, 'result.json')).options).toMatchObject({ depth: 3, pretrainSteps: 20 });
  }, 300_000);
});

describe('discover pools stop on an aborted signal', () => {
  it('runChunks returns stopped without running the remaining chunks', async () => {
    const values: number[] = [];
    for (const E of [1, 2.5, 4]) for (let t = 0; t < 6; t++) values.push(0.2 * t - 0.5, Math.sqrt(E + 3 * Math.cos(0.2 * t - 0.5)));
    const job: ChunkJob = { system: PENDULUM, depth: 3, seed: 3, data: { values: Float64Array.from(values), sequences: 3, steps: 6, dim: 2 }, fit: { steps: 5, restarts: 1 } };
    const ac = new AbortController();
    let seen = 0;
    const r = await runChunks(job, Array.from({ length: CHUNKS }, (_, c) => c), 1, () => ++seen === 1 && ac.abort(), ac.signal);
    expect(r.stopped).toBe(true);
    expect(r.results.length).toBeLessThan(CHUNKS);
  });
});

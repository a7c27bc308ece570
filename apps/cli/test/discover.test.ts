import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/main.js';
import type { Io } from '../src/cli/io.js';
import { parseInputs, parseUnit } from '../src/discover/units.js';
import { CHUNKS, chunksOfShard, mergeChunks, runChunks, type ChunkJob } from '../src/discover/search-pool.js';
import { PENDULUM, parseFormula, symbolicEmbedding } from '@noether/embeddings-symbolic';
import { tf } from '@noether/core';
import { VectorFieldPredictor } from '@noether/predictors-mlp';
import { embeddingScale, rolloutErrors, scaledEmbedding } from '../src/discover/evaluate.js';

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
    const parts = [];
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

// Runs in-process: run-directory contents, progress, Ctrl-C + resume, NaN stop, train --config, eval.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY, finalLoss, readJson, run, tmp } from './helpers.js';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('experiment toy-oscillator', () => {
  it('writes a complete run directory and prints a result table', async () => {
    const out = join(tmp(), 'toy');
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '2', '--set', 'outer.lrPhi=0.02', '--out', out]);
    expect(r.code, r.err).toBe(0);
    // result table on stdout: baseline and Noether rows with an MSE column
    expect(r.out).toMatch(/model\s+mse/);
    expect(r.out).toMatch(/^baseline\s+\d/m);
    expect(r.out).toMatch(/^noether \(tailored\)\s+\d/m);

    const cfg = readJson(join(out, 'config.json'));
    expect(cfg.outer.lrPhi).toBe(0.02); // --set applied
    expect(cfg.outer.epochs).toBe(2); // --epochs applied
    expect(cfg.outer.beta1).toBe(0.9); // defaults resolved
    expect(cfg.dataset).toEqual({ type: 'oscillator', nTrain: 16, nTest: 8, seqLength: 6 });

    const meta = readJson(join(out, 'meta.json'));
    expect(meta.seed).toBe(cfg.seed);
    expect(meta.backend).toBe('cpu');
    expect(meta.experiment).toBe('toy-oscillator');
    expect(meta.command).toEqual(['experiment', 'toy-oscillator', ...TINY, '--epochs', '2', '--set', 'outer.lrPhi=0.02', '--out', out]);
    expect(meta.versions['@noether/core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(meta.noetherVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number.isNaN(Date.parse(meta.startedAt))).toBe(false);

    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('kind,phase,step,epoch,loss,grad_norm_theta,grad_norm_phi,metric,untailored,tailored,elapsed_s');
    const rows = csv.slice(1).map((l) => l.split(','));
    // 16 sequences / batch 8 = 2 steps per epoch, 2 epochs, two phases
    expect(rows.filter((c) => c[0] === 'train' && c[1] === 'baseline').map((c) => Number(c[2]))).toEqual([1, 2, 3, 4]);
    expect(rows.filter((c) => c[0] === 'train' && c[1] === 'noether').map((c) => Number(c[2]))).toEqual([1, 2, 3, 4]);
    expect(rows.filter((c) => c[0] === 'eval').map((c) => `${c[1]}/${c[7]}`)).toEqual(['baseline/mse', 'noether/mse']);

    for (const p of ['baseline', 'noether']) {
      const ptr = readJson(join(out, 'checkpoints', p, 'latest.json'));
      expect(ptr).toMatchObject({ step: 4, done: true });
      expect(existsSync(join(out, 'checkpoints', p, ptr.dir, 'weights.bin'))).toBe(true);
    }
    const plots = readdirSync(join(out, 'plots')).sort();
    expect(plots).toEqual(['eval-baseline-mse.png', 'eval-noether-mse.png', 'loss.png']);
    for (const f of plots) expect([...readFileSync(join(out, 'plots', f)).subarray(0, 8)]).toEqual(PNG);
    const res = readJson(join(out, 'result.json'));
    expect(res.status).toBe('completed');
    expect(res.table.map((t: { model: string }) => t.model)).toEqual(['baseline', 'noether (untailored)', 'noether (tailored)']);
    // no temp files left behind
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [e.name]));
    expect(all(out).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('progress rewrites one line on a TTY and prints plain lines otherwise', async () => {
    const tty = await run(['experiment', 'toy-oscillator', ...TINY.filter((a) => a !== '--no-progress'), '--epochs', '1', '--out', join(tmp(), 'a')], { isTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(/\r\[baseline\] step 1\/2 \(50%\)\s+epoch 1\/1\s+loss \S+ .*ETA \d+:\d\d\x1b\[K/);
    const plain = await run(['experiment', 'toy-oscillator', ...TINY.filter((a) => a !== '--no-progress'), '--epochs', '1', '--out', join(tmp(), 'b')]);
    expect(plain.err).not.toContain('\r');
    expect(plain.err).toMatch(/^\[noether\] step 2\/2 \(100%\)/m);
  });
});

describe('Ctrl-C and resume', () => {
  it('Ctrl-C writes a checkpoint and exits 130; --resume reaches the uninterrupted final loss', async () => {
    const args = ['experiment', 'toy-oscillator', ...TINY.filter((a) => a !== '--no-progress'), '--epochs', '3', '--checkpoint-every', '100'];
    const full = join(tmp(), 'full');
    const a = await run([...args, '--out', full]);
    expect(a.code).toBe(0);

    const cut = join(tmp(), 'cut');
    let sent = false;
    const b = await run([...args, '--out', cut], {
      onErr: (chunk, interrupt) => {
        if (!sent && /\[noether\] step 2\//.test(chunk)) {
          sent = true;
          interrupt();
        }
      },
    });
    expect(b.code).toBe(130);
    expect(b.err).toMatch(/interrupted: checkpoint written at step \d+ \(noether\); continue with: noether experiment --resume /);
    const ptr = readJson(join(cut, 'checkpoints', 'noether', 'latest.json'));
    expect(ptr.done).toBe(false);
    expect(ptr.step).toBeGreaterThanOrEqual(2);
    expect(ptr.step).toBeLessThan(6);
    expect(readJson(join(cut, 'result.json')).status).toBe('interrupted');

    const c = await run(['experiment', '--resume', cut, '--backend', 'cpu']);
    expect(c.code, c.err).toBe(0);
    expect(c.err).toMatch(/\[baseline\] already complete/);
    expect(c.err).toMatch(new RegExp(`\\[noether\\] resuming from checkpoint at step ${ptr.step}`));
    expect(finalLoss(cut)).toBe(finalLoss(full));
    // meta.json records the resume and its backend (a run resumed on another backend says so).
    expect(readJson(join(cut, 'meta.json')).resumes).toEqual([{ at: expect.any(String), fromStep: { baseline: 6, noether: ptr.step }, backend: 'cpu' }]);
    expect(readJson(join(cut, 'result.json')).table).toEqual(readJson(join(full, 'result.json')).table);
    // metrics.csv of the resumed run has each step once
    const steps = readFileSync(join(cut, 'metrics.csv'), 'utf8').split('\n').filter((l) => l.startsWith('train,noether,')).map((l) => Number(l.split(',')[2]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    // …and each phase's evaluation once, though the finished baseline was evaluated again.
    const evals = readFileSync(join(cut, 'metrics.csv'), 'utf8').split('\n').filter((l) => l.startsWith('eval,')).map((l) => l.split(',')[1]);
    expect(evals).toEqual(['baseline', 'noether']);
  });
});

describe('non-finite loss', () => {
  it('stops with exit 3, names where, keeps the last good checkpoint', async () => {
    const out = join(tmp(), 'nan');
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '4', '--checkpoint-every', '1', '--set', 'outer.lrTheta=1e38', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/non-finite value in the (outer \(task\) loss|gradient of θ \(predictor\)) at step (\d+) \(phase baseline\)/);
    const step = Number(/at step (\d+)/.exec(r.err)![1]);
    expect(r.err).toMatch(new RegExp(`the last good checkpoint \\(step ${step - 1}\\) is kept`));
    const ptr = readJson(join(out, 'checkpoints', 'baseline', 'latest.json'));
    expect(ptr.step).toBe(step - 1);
    expect(readJson(join(out, 'result.json')).status).toBe('non-finite');
    // the kept checkpoint loads (eval works on it)
    const e = await run(['eval', out, '--backend', 'cpu']);
    expect(e.code, e.err).toBe(0);
  });
});

describe('non-finite loss in a later phase', () => {
  it('result.json keeps what the finished phases produced', async () => {
    const out = join(tmp(), 'nan2');
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '2', '--set', 'outer.lrPhi=1e38', '--out', out]);
    expect(r.code, r.err).toBe(3);
    expect(r.err).toMatch(/\(phase noether\)/);
    const res = readJson(join(out, 'result.json'));
    expect(res.status).toBe('non-finite');
    expect(res.table.map((t: { model: string }) => t.model)).toEqual(['baseline']);
    expect(Number.isFinite(res.table[0].mse)).toBe(true);
    expect(Object.keys(res.steps)).toEqual(['baseline']);
  });
});

describe('train --config and eval', () => {
  it('trains a YAML config with --set overrides, then eval reprints the table', async () => {
    const dir = tmp();
    const f = join(dir, 'toy.yaml');
    writeFileSync(
      f,
      [
        'name: yaml-toy',
        'seed: 3',
        'mode: noether',
        'predictor: { type: mlp-step, hidden: 8 }',
        'embedding: { type: mlp-embedding, hidden: 8, dim: 1 }',
        'dataset: { type: oscillator, nTrain: 8, nTest: 8, seqLength: 5 }',
        'inner: { lr: 0.01 }',
        'outer: { epochs: 2, batchSize: 4, lrTheta: 0.01, lrPhi: 0.01 }',
      ].join('\n'),
    );
    const r = await run(['train', '--config', f, '--set', 'outer.epochs=1', '--backend', 'cpu', '--no-progress'], { cwd: dir });
    expect(r.code, r.err).toBe(0);
    const runs = readdirSync(join(dir, 'runs'));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^yaml-toy-\d{8}-\d{6}Z$/);
    const rd = join(dir, 'runs', runs[0]!);
    expect(readJson(join(rd, 'config.json')).outer.epochs).toBe(1);
    expect(readJson(join(rd, 'config.json')).embedding.dim).toBe(1);
    expect(r.out).toMatch(/^yaml-toy \(tailored\)/m);
    const e = await run(['eval', rd, '--backend', 'cpu']);
    expect(e.code, e.err).toBe(0);
    // Same checkpoint, same seed → the same numbers as at the end of training.
    const num = (s: string, row: string) => new RegExp(`^${row.replace(/[()]/g, '\\$&')}\\s+(\\S+)`, 'm').exec(s)![1];
    // …under the name training gave the rows, with the step as an integer.
    expect(num(e.out, 'yaml-toy (tailored)')).toBe(num(r.out, 'yaml-toy (tailored)'));
    expect(e.out).toMatch(/^yaml-toy \(tailored\)\s+\S+\s+\d+$/m);
    // eval adds its rows to metrics.csv and keeps training's.
    const evals = readFileSync(join(rd, 'metrics.csv'), 'utf8').split('\n').filter((l) => l.startsWith('eval,train,'));
    expect(evals).toHaveLength(2);
  });
});

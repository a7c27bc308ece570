// The real launcher, as scripts use it: exit codes, one-line errors, SIGINT, and
// kill -9 mid-run + --resume reaching the same final loss as an uninterrupted run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalLoss, hasStack, readJson, tmp } from './helpers.js';
import buildForBin from './build-for-bin.js';

const BIN = new URL('../bin/noether.mjs', import.meta.url).pathname;
const ENV = { ...process.env, NOETHER_BACKEND: 'cpu' };
// 64 sequences / batch 8 = 8 steps per epoch; 4 epochs per phase = 64 steps in all (a few seconds).
const ARGS = ['experiment', 'toy-oscillator', '--quick', '--set', 'dataset.nTrain=64', '--set', 'dataset.seqLength=6', '--set', 'dataset.nTest=8', '--epochs', '4', '--checkpoint-every', '2', '--no-progress'];

function noether(args: string[], env = ENV) {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await sleep(25);
  }
}

describe('bin/noether.mjs', () => {
  beforeAll(() => {
    buildForBin();
    // A launcher that cannot even start would fail every case below with noise: say why once.
    const v = spawnSync(process.execPath, [BIN, '--version'], { env: ENV, encoding: 'utf8' });
    if (v.status !== 0) {
      const why = v.stderr.split('\n').find((l) => /Error|error:/.test(l)) ?? v.stderr.slice(0, 300);
      throw new Error(`the built bin does not start (node ${BIN} --version exited ${v.status}): ${why}`);
    }
  }, 600_000); // a cold build of every package on 2 busy cores can take minutes

  it('--version and --help exit 0', () => {
    const v = noether(['--version']);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^noether \d+\.\d+\.\d+/);
    expect(noether(['train', '--help']).stdout).toContain('Usage: noether train');
  });

  it('bad input: one line, exit 2, no stack trace', () => {
    const r = noether(['train', '--config', '/nonexistent/x.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^noether train: config file not found: \/nonexistent\/x\.yaml/m);
    expect(hasStack(r.stderr)).toBe(false);
    const u = noether(['experiment', 'toy-oscillator', '--epocs', '2']);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unknown flag '--epocs'; valid flags: .*--epochs/);
    const b = noether(['backends', '--backend', 'tensorflow']);
    expect(b.status).toBe(2);
    expect(b.stderr.trim().split('\n').filter((l) => l.startsWith('noether'))).toHaveLength(1);
  });

  it('kill -9 after a checkpoint, --resume: same final loss as an uninterrupted run; SIGINT exits 130', async () => {
    const dir = tmp();
    const full = join(dir, 'full');
    const a = noether([...ARGS, '--out', full]);
    expect(a.status, a.stderr).toBe(0);

    // kill -9 once the noether phase has a checkpoint and is not finished.
    const killed = join(dir, 'killed');
    const child = spawn(process.execPath, [BIN, ...ARGS, '--out', killed], { env: ENV, stdio: 'ignore' });
    const ptr = join(killed, 'checkpoints', 'noether', 'latest.json');
    await waitFor(() => existsSync(ptr), 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const at = readJson(ptr);
    expect(at.done).toBe(false); // killed mid-phase, not after it
    expect(existsSync(join(killed, 'result.json'))).toBe(false);
    const r = noether(['experiment', '--resume', killed]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[noether\] resuming from checkpoint at step \d+/);
    expect(finalLoss(killed)).toBe(finalLoss(full));

    // SIGINT: checkpoint, exit 130, resumable.
    const cut = join(dir, 'sigint');
    const c = spawn(process.execPath, [BIN, ...ARGS, '--out', cut], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    await waitFor(() => existsSync(join(cut, 'checkpoints', 'baseline', 'latest.json')), 60_000);
    c.kill('SIGINT');
    const code = await new Promise((res) => c.once('exit', (x) => res(x)));
    expect(code).toBe(130);
    expect(err).toMatch(/interrupted: checkpoint written at step \d+/);
    expect(readJson(join(cut, 'result.json')).status).toBe('interrupted');
    const r2 = noether(['experiment', '--resume', cut]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(finalLoss(cut)).toBe(finalLoss(full));
  });
});

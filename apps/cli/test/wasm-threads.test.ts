// --wasm-threads / NOETHER_WASM_THREADS: the threaded wasm build through the worker_threads shim
// (src/run/wasm-threads.ts), run by the real launcher so that a process that cannot exit shows up.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import buildForBin from './build-for-bin.js';
import { hasStack, run, tmp } from './helpers.js';

const BIN = new URL('../bin/noether.mjs', import.meta.url).pathname;
const { NOETHER_BACKEND: _b, NOETHER_WASM_THREADS: _t, ...ENV } = process.env;
// One outer epoch of a tiny toy run: a few seconds, even with 2 threads spinning on a busy machine.
const TINY_WASM = ['--backend', 'wasm', 'experiment', 'toy-oscillator', '--quick', '--epochs', '1', '--no-progress',
  '--set', 'dataset.nTrain=16', '--set', 'dataset.nTest=8', '--set', 'dataset.seqLength=6'];

function noether(args: string[]) {
  // The timeout catches a process kept alive by a pthread worker after main() returned.
  return spawnSync(process.execPath, [BIN, ...args], { env: ENV, encoding: 'utf8', timeout: 120_000 });
}

/** metrics.csv without its wall-clock column. */
function metrics(dir: string): string {
  return readFileSync(join(dir, 'metrics.csv'), 'utf8').replace(/,[^,\n]*$/gm, '');
}

describe('--wasm-threads through the launcher', () => {
  beforeAll(() => buildForBin(), 600_000);

  it('2 threads: reported, the same numbers as 1 thread, and the process exits', () => {
    const dir = tmp();
    const runs = [1, 2].map((n) => {
      const r = noether(['--wasm-threads', String(n), ...TINY_WASM, '--out', join(dir, `t${n}`)]);
      expect(r.error, `did not exit within the timeout: ${r.stderr}`).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      return r;
    });
    expect(runs[0]!.stderr).toMatch(/^noether: backend wasm \(forced by --backend\)$/m);
    expect(runs[1]!.stderr).toMatch(/^noether: backend wasm, 2 threads \(forced by --backend\)$/m);
    expect(runs[1]!.stdout).toMatch(/noether \(tailored\)\s+\d\.\d+/);
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    expect(metrics(join(dir, 't2'))).toBe(metrics(join(dir, 't1')));
  });
});

describe('core\'s kernel pool on wasm threads', () => {
  beforeAll(() => buildForBin(), 600_000);

  it('conv2d and both its gradients give the same bits on 1, 2 and 3 threads, and the pool did the work', () => {
    const script = new URL('./fixtures/conv-threads.mjs', import.meta.url).pathname;
    const runs = [1, 2, 3].map((n) => {
      const r = spawnSync(process.execPath, [script, String(n)], { env: ENV, encoding: 'utf8', timeout: 120_000 });
      expect(r.error, `did not exit within the timeout: ${r.stderr}`).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { threads: number; pool: { threads: number; started: boolean; dispatched: number } | null; hashes: number[][]; numTensors: number };
    });
    expect(runs.map((r) => r.threads)).toEqual([1, 2, 3]);
    expect(runs[0]!.pool).toBeNull();
    for (const r of runs.slice(1)) {
      expect(r.pool).toMatchObject({ threads: r.threads, started: true });
      expect(r.pool!.dispatched).toBeGreaterThan(0);
      expect(r.hashes).toEqual(runs[0]!.hashes);
      expect(r.numTensors).toBe(0);
    }
  });
});

describe('--wasm-threads and NOETHER_WASM_THREADS values', () => {
  const errorLine = (err: string) => {
    const lines = err.split('\n').filter((l) => l.startsWith('noether'));
    expect(lines, err).toHaveLength(1);
    expect(hasStack(err)).toBe(false);
    return lines[0]!;
  };

  it('bad values: exit 2, one line naming --wasm-threads', async () => {
    for (const v of ['0', '1.5', 'abc', '-1']) {
      for (const argv of [['--wasm-threads', v, 'backends'], ['backends', `--wasm-threads=${v}`]]) {
        const r = await run(argv);
        expect(r.code, r.err).toBe(2);
        expect(errorLine(r.err)).toContain(`--wasm-threads needs an integer >= 1, got '${v}'`);
      }
    }
    const e = await run(['backends', '--backend', 'cpu'], { env: { NOETHER_WASM_THREADS: 'two' } });
    expect(e.code).toBe(2);
    expect(errorLine(e.err)).toMatch(/NOETHER_WASM_THREADS needs an integer >= 1 \(.*--wasm-threads N\), got 'two'/);
  });

  it('ignored with a note when the backend is not wasm; the flag wins over the env', async () => {
    const r = await run(['--backend', 'cpu', '--wasm-threads', '3', 'backends'], { env: { NOETHER_WASM_THREADS: '2' } });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/selected: cpu — forced by --backend/);
    expect(r.out).toContain('note: 3 wasm threads requested, ignored: the backend is cpu (from --wasm-threads)');
  });

  it('is in the help', async () => {
    const r = await run(['--help']);
    expect(r.out).toMatch(/--wasm-threads N +run the wasm backend on N threads/);
    expect(r.out).toContain('NOETHER_WASM_THREADS=N');
    expect((await run(['backends', '--help'])).out).toContain('--wasm-threads N or NOETHER_WASM_THREADS');
  });
});

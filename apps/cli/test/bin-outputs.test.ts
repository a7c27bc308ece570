// Output handling through the built launcher: `noether generate` under a real Ctrl-C (SIGINT: the
// generator yields to the event loop after each episode, so the handler runs and it stops at the next
// one, not when every episode is written), and an unwritable --out (EACCES), which needs a user
// other than root.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import buildForBin from './build-for-bin.js';
import { tmp } from './helpers.js';

const BIN = new URL('../bin/noether.mjs', import.meta.url).pathname;

describe('bin/noether.mjs: output folders', () => {
  beforeAll(() => {
    buildForBin();
    const v = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    if (v.status !== 0) throw new Error(`the built bin does not start: ${v.stderr.slice(0, 300)}`);
  }, 600_000);

  it('stops soon after SIGINT, removes the partly written folder it created, exits 130', async () => {
    const parent = join(tmp(), 'data');
    // ~20 s of work uninterrupted on a busy 2-core machine.
    const child = spawn(process.execPath, [BIN, 'generate', 'gym-pendulum', '--episodes', '150', '--frames', '200', '--size', '64', '--out', join(parent, 'big')]);
    let err = '';
    let sentAt = 0;
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      // After the first episodes are on disk: there is a partly written folder to remove.
      if (!sentAt && /\[generate\] \d+\/150/.test(err)) {
        sentAt = Date.now();
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(sentAt, err).toBeGreaterThan(0);
    expect(code, err).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(err).toMatch(/interrupted: removed the partly written .*big/);
    expect(err).not.toMatch(/150\/150/);
    expect(existsSync(parent)).toBe(false);
  }, 120_000);

  // As root every folder is writable: then the check runs as 'nobody' through setpriv, where there is
  // one and 'nobody' can read the checkout (not in a private folder, e.g. a clone in `mktemp -d`'s 0700 one).
  const setpriv = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const nobodyReads = () => spawnSync(setpriv[0]!, [...setpriv.slice(1), process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(BIN)})`]).status === 0;
  const asUser = process.getuid?.() !== 0 ? [] : existsSync(setpriv[0]!) && nobodyReads() ? setpriv : undefined;
  it.skipIf(!asUser)('an unwritable --out is refused up-front: exit 2 naming the folder and the fix (EACCES)', () => {
    const base = tmp();
    chmodSync(base, 0o755);
    const ro = join(base, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    chmodSync(ro, 0o555);
    for (const args of [['generate', 'spring', '--out', join(ro, 'x')], ['experiment', 'toy-oscillator', '--quick', '--backend', 'cpu', '--out', join(ro, 'run')], ['report', 'r', '--out', join(ro, 'r.html')]]) {
      const [cmd, ...pre] = [...asUser!, process.execPath];
      const r = spawnSync(cmd!, [...pre, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^noether ${args[0]}: --out .*ro/\\S+: .*ro: permission denied \\(EACCES\\); choose a location you can write to`));
    }
    expect(readdirSync(ro)).toEqual([]);
  });
});

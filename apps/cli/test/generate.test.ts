import { readFileSync, existsSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsvTrajectories, readGymManifest } from '@noether/datasets';
import { run, tmp } from './helpers.js';

describe('noether generate', () => {
  it('gym-pendulum: writes episodes, manifest and preview, identically for the same seed', async () => {
    const gen = async (dir: string) => run(['generate', 'gym-pendulum', '--episodes', '2', '--train-episodes', '1', '--frames', '12', '--size', '16', '--seed', '3', '--out', dir]);
    const a = join(tmp(), 'a');
    const b = join(tmp(), 'b');
    const r = await gen(a);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote 2 episodes \(1 train\) of 12 frames/);
    const m = readGymManifest(a);
    expect(m.episodes).toHaveLength(2);
    expect(m.trainEpisodes).toBe(1);
    expect(existsSync(join(a, 'preview.png'))).toBe(true);
    expect((await gen(b)).code).toBe(0);
    for (const e of m.episodes) expect(readFileSync(join(a, e.frames)).equals(readFileSync(join(b, e.frames)))).toBe(true);
  });

  it('gym-pendulum: progress off a terminal is about 20 lines (first, every 5%, last), not one per episode', async () => {
    const r = await run(['generate', 'gym-pendulum', '--episodes', '60', '--frames', '2', '--size', '4', '--out', join(tmp(), 'p')]);
    expect(r.code, r.err).toBe(0);
    const lines = r.err.split('\n').filter((l) => l.startsWith('[generate]'));
    expect(lines[0]).toMatch(/^\[generate\] 1\/60 episodes \(1%\)  ETA \d+:\d\d$/);
    expect(lines.at(-1)).toMatch(/^\[generate\] 60\/60 episodes \(100%\)  ETA 0:00$/);
    expect(lines).toHaveLength(21); // 1, then 3, 6, …, 60
  });

  it('gym-pendulum --view: recorded in the manifest; bad values and other kinds are usage errors, with nothing written', async () => {
    const dir = join(tmp(), 'v');
    const r = await run(['generate', 'gym-pendulum', '--episodes', '1', '--frames', '3', '--size', '8', '--view', '1.2', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(readGymManifest(dir).view).toBe(1.2);
    expect(readGymManifest(dir).trainEpisodes).toBe(0); // the default leaves an episode to test on: here, the only one
    for (const [args, msg] of [
      [['gym-pendulum', '--view', '1'], /--view must be > 1.1/],
      [['spring', '--view', '1.5'], /--view applies to gym-pendulum only, not spring: drop it, or run noether generate gym-pendulum/],
      [['gym-pendulum', '--noise', '0.1'], /--noise applies to spring and pendulum only, not gym-pendulum: drop it, or run noether generate spring\|pendulum/],
    ] as const) {
      const out = join(tmp(), 'bad');
      const b = await run(['generate', ...args, '--out', out]);
      expect(b.code).toBe(2);
      expect(b.err).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('gym-pendulum: Ctrl-C stops at the next episode, removes the folders it created, exits 130', async () => {
    // The interrupt arrives with the first progress line (bin-outputs.test.ts sends a real SIGINT).
    const parent = join(tmp(), 'data');
    const args = ['generate', 'gym-pendulum', '--episodes', '100', '--frames', '4', '--size', '8'];
    const cut = (out: string) =>
      run([...args, '--out', out], { onErr: (chunk, interrupt) => void (/^\[generate\] 1\/100 /.test(chunk) && interrupt()) });
    const r = await cut(join(parent, 'big'));
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/interrupted: removed the partly written .*big/);
    expect(r.err).not.toMatch(/\[generate\] [2-9]\d*\/100/);
    expect(existsSync(parent)).toBe(false);
    // An empty folder given as --out stays, empty.
    const kept = tmp();
    expect((await cut(kept)).code).toBe(130);
    expect(readdirSync(kept)).toEqual([]);
  });

  it('spring: Ctrl-C (an event, as SIGINT is) stops between trajectories, removes the folder it created, exits 130', async () => {
    // All 100 000 take half a minute; the interrupt arrives with the first progress line.
    const parent = join(tmp(), 'data');
    const r = await run(['generate', 'spring', '--trajectories', '100000', '--out', join(parent, 'spring')], {
      onErr: (chunk, interrupt) => void (/^\[generate\] 1\/100000 trajectories/.test(chunk) && setImmediate(interrupt)),
    });
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/interrupted: removed the partly written .*spring/);
    expect(r.err).not.toMatch(/\[generate\] \d+\/100000 trajectories \([1-9]\d*%\)/);
    expect(existsSync(parent)).toBe(false);
  });

  it('spring: a CSV the generic loader reads back', async () => {
    const dir = join(tmp(), 's');
    const r = await run(['generate', 'spring', '--trajectories', '4', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const set = loadCsvTrajectories(join(dir, 'trajectories.csv'), { idColumn: 'traj', timeColumn: 't', stateColumns: ['q', 'p'] });
    const n = set.train.length + set.test.length;
    expect(n).toBe(4);
    // H = q² + p² is conserved along each generated trajectory
    const tr = set.train[0] ?? set.test[0]!;
    const H = (k: number) => tr.x[2 * k]! ** 2 + tr.x[2 * k + 1]! ** 2;
    expect(Math.abs(H(tr.t.length - 1) - H(0))).toBeLessThan(1e-6);
  });

  it('bad input: unknown kind, missing --out, non-empty directory', async () => {
    expect((await run(['generate', 'moon', '--out', tmp()])).err).toMatch(/unknown dataset kind 'moon'; choose one of: gym-pendulum, spring, pendulum/);
    expect((await run(['generate', 'spring'])).code).toBe(2);
    const d = tmp();
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'x'), 'x');
    const r = await run(['generate', 'spring', '--out', d]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not empty/);
    // Frames too large to allocate: a usage error naming the flags, and the folder it made is gone.
    const huge = join(tmp(), 'huge');
    const h = await run(['generate', 'gym-pendulum', '--episodes', '1', '--frames', '1000', '--size', '1000000', '--out', huge]);
    expect(h.code, h.err).toBe(2);
    expect(h.err).toMatch(/cannot allocate an episode of --frames 1000 at --size 1000000 \(2793967\.7 GiB of frames\): lower --size or --frames/);
    expect(existsSync(huge)).toBe(false);
  });
});

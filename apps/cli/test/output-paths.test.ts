// Output paths (--out of experiment, train, generate, report): checked before anything is computed
// or created; a path that cannot be written is bad input (exit 2) naming the flag, the path and the
// fix; the user's files are never overwritten; nothing half-written (temp files, empty folders) stays.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CliError, fsPathError } from '../src/cli/errors.js';
import { checkOutputDir, checkOutputFile, createOutputDir } from '../src/cli/output.js';
import { writeFileAtomic } from '../src/run/fs-atomic.js';
import { TINY, hasStack, run, tmp } from './helpers.js';

/** The one error line (after the backend line, if any); no stack trace. */
function errorLine(err: string): string {
  const lines = err.split('\n').filter((l) => /^noether[ :]/.test(l) && !l.startsWith('noether: backend'));
  expect(lines, err).toHaveLength(1);
  expect(hasStack(err)).toBe(false);
  return lines[0]!;
}

const EXP = ['experiment', 'toy-oscillator', ...TINY, '--epochs', '1'];

describe('experiment / train --out', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
  });

  it("refuses a non-empty folder that is not a run, leaving the user's files as they were", async () => {
    const user = join(dir, 'userdir');
    mkdirSync(user);
    writeFileSync(join(user, 'config.json'), '{"mine":1}');
    const r = await run([...EXP, '--out', user]);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(/--out .*userdir is a folder that is not empty and holds no run: choose an empty or new folder \(or --resume RUN/);
    expect(readFileSync(join(user, 'config.json'), 'utf8')).toBe('{"mine":1}');
    expect(readdirSync(user)).toEqual(['config.json']);
    // train shares the check
    const cfg = join(dir, 'toy.yaml');
    writeFileSync(cfg, 'predictor: { type: mlp-step }\ndataset: { type: oscillator, nTrain: 8, nTest: 8, seqLength: 5 }\n');
    const t = await run(['train', '--config', cfg, '--backend', 'cpu', '--out', user]);
    expect(t.code).toBe(2);
    expect(errorLine(t.err)).toMatch(/not empty and holds no run/);
  });

  it('accepts an empty folder; refuses one holding a run, pointing at --resume', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = await run([...EXP, '--out', empty]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(empty, 'meta.json'))).toBe(true);
    const again = await run([...EXP, '--out', empty]);
    expect(again.code).toBe(2);
    expect(errorLine(again.err)).toMatch(/already holds a run: continue it with --resume .*empty/);
  });

  it("--out '' and a --name with path separators or '..' are usage errors, before anything is created", async () => {
    const e = await run([...EXP, '--out', ''], { cwd: dir });
    expect(e.code).toBe(2);
    expect(errorLine(e.err)).toMatch(/--out needs a value \(DIR\)/);
    const cwd = tmp();
    for (const name of ['a/../../b', '..', 'a\\b']) {
      const n = await run([...EXP, '--name', name], { cwd });
      expect(n.code, name).toBe(2);
      expect(errorLine(n.err)).toMatch(/--name .*: a run name must not contain path separators or '\.\.'/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a file, a path through a file: exit 2 naming the path, before the backend starts', async () => {
    const file = join(dir, 'afile');
    writeFileSync(file, 'x');
    const a = await run([...EXP, '--out', file]);
    expect(a.code).toBe(2);
    expect(errorLine(a.err)).toMatch(/--out .*afile is a file, not a folder; choose a new folder/);
    expect(a.err).not.toMatch(/backend cpu/); // checked before anything was computed
    const b = await run([...EXP, '--out', join(file, 'sub')]);
    expect(b.code).toBe(2);
    expect(errorLine(b.err)).toMatch(/--out .*afile\/sub: .*afile is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('--checkpoint-every -1 is refused before the run directory is created', async () => {
    const out = join(dir, 'cp');
    const r = await run([...EXP, '--checkpoint-every', '-1', '--out', out]);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(/--checkpoint-every needs an integer >= 0, got '-1'/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('generate --out', () => {
  it('a file or a path through one: exit 2 naming it; --train-episodes ≥ --episodes: exit 2 naming the flag, nothing created', async () => {
    const dir = tmp();
    const file = join(dir, 'afile');
    writeFileSync(file, 'x');
    const a = await run(['generate', 'spring', '--trajectories', '2', '--out', file]);
    expect(a.code).toBe(2);
    expect(errorLine(a.err)).toMatch(/--out .*afile is a file, not a folder/);
    const b = await run(['generate', 'spring', '--trajectories', '2', '--out', join(file, 'x')]);
    expect(b.code).toBe(2);
    expect(errorLine(b.err)).toMatch(/--out .*afile\/x: .*afile is a file, not a folder/);
    const q = join(dir, 'data', 'q2');
    for (const train of ['5', '2']) {
      // All episodes in the train split would leave none to test on.
      const c = await run(['generate', 'gym-pendulum', '--train-episodes', train, '--episodes', '2', '--out', q]);
      expect(c.code).toBe(2);
      expect(errorLine(c.err)).toMatch(new RegExp(`--train-episodes \\(${train}\\) must be below --episodes \\(2\\): .*at least one is left to test on`));
    }
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('report --out', () => {
  let dir: string;
  let runDir: string;
  beforeAll(async () => {
    dir = tmp();
    runDir = join(dir, 'run');
    const r = await run([...EXP, '--out', runDir]);
    expect(r.code, r.err).toBe(0);
  });

  it('a missing folder, or a folder as the file: exit 2 naming the path and the fix, no temp file left', async () => {
    const a = await run(['report', runDir, '--out', join(dir, 'rep', 'r1.html')]);
    expect(a.code).toBe(2);
    expect(errorLine(a.err)).toMatch(/--out .*rep\/r1\.html: the folder .*rep does not exist; create it first/);
    mkdirSync(join(dir, 'runs'));
    const b = await run(['report', runDir, '--out', join(dir, 'runs')]);
    expect(b.code).toBe(2);
    expect(errorLine(b.err)).toMatch(/--out .*runs is a folder; give a file path, e\.g\. .*runs\/report\.html/);
    expect(readdirSync(dir).sort()).toEqual(['run', 'runs']);
    expect(readdirSync(join(dir, 'runs'))).toEqual([]);
  });

  it('an existing file is replaced: the report can be made again', async () => {
    const out = join(dir, 'again.html');
    for (let i = 0; i < 2; i++) {
      const r = await run(['report', runDir, '--out', out]);
      expect(r.code, r.err).toBe(0);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('again') || f.startsWith('.again'))).toEqual(['again.html']);
  });
});

describe('helpers', () => {
  it('fsPathError: an fs error with a path becomes exit 2 naming it, what is wrong and the fix; others pass', () => {
    const err = (code: string, path: string) => Object.assign(new Error(`${code}: x, open '${path}'`), { code, path });
    const e = fsPathError(err('EACCES', '/ro/x'), '--out /ro/x');
    expect(e).toBeInstanceOf(CliError);
    expect(e!.code).toBe(2);
    expect(e!.message).toBe('--out /ro/x: /ro/x: permission denied (EACCES); choose a location you can write to, or fix its permissions');
    for (const c of ['ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'EPERM', 'EROFS']) expect(fsPathError(err(c, '/p'))?.message, c).toMatch(new RegExp(`^/p: .*\\(${c}\\); `));
    expect(fsPathError(new Error('boom'))).toBeUndefined();
    expect(fsPathError(Object.assign(new Error('no space'), { code: 'ENOSPC', path: '/p' }))).toBeUndefined();
  });

  it.skipIf(process.getuid?.() === 0)('an unwritable folder is refused up-front (EACCES)', () => {
    const ro = join(tmp(), 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      expect(() => checkOutputDir(join(ro, 'x'), '--out', () => 'not empty')).toThrow(/--out .*ro\/x: .*ro: permission denied \(EACCES\)/);
      expect(() => checkOutputFile(join(ro, 'r.html'), '--out')).toThrow(/permission denied \(EACCES\)/);
    } finally {
      chmodSync(ro, 0o755);
    }
  });

  it('createOutputDir: the undo removes the folders it created, or empties one that was there', () => {
    const base = tmp();
    const undo = createOutputDir(join(base, 'a', 'b'), '--out');
    writeFileSync(join(base, 'a', 'b', 'f'), 'x');
    undo();
    expect(readdirSync(base)).toEqual([]);
    mkdirSync(join(base, 'kept'));
    const undo2 = createOutputDir(join(base, 'kept'), '--out');
    writeFileSync(join(base, 'kept', 'f'), 'x');
    undo2();
    expect(readdirSync(base)).toEqual(['kept']);
    expect(readdirSync(join(base, 'kept'))).toEqual([]);
  });

  it('writeFileAtomic leaves no temp file when the write fails', () => {
    const d = tmp();
    mkdirSync(join(d, 'target'));
    expect(() => writeFileAtomic(join(d, 'target'), 'x')).toThrow(/EISDIR|directory/);
    expect(readdirSync(d)).toEqual(['target']);
  });
});

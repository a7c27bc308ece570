import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { atomicWriteFile } from '../src/index.js';

const dirs: string[] = [];
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'noether-fs-util-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('atomicWriteFile', () => {
  it('replaces the target whole and leaves only it in the folder', () => {
    const d = fresh();
    const f = join(d, 'a.json');
    atomicWriteFile(f, 'old');
    atomicWriteFile(f, new Uint8Array([110, 101, 119]));
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(readdirSync(d)).toEqual(['a.json']);
  });

  it('creates missing folders unless told not to', () => {
    const d = fresh();
    atomicWriteFile(join(d, 'x', 'y', 'f.txt'), 'hi');
    expect(readFileSync(join(d, 'x', 'y', 'f.txt'), 'utf8')).toBe('hi');
    expect(() => atomicWriteFile(join(d, 'missing', 'f.txt'), 'hi', { createDir: false })).toThrow(/ENOENT/);
    expect(readdirSync(d)).toEqual(['x']);
  });

  it('leaves no temp file behind when the rename fails', () => {
    const d = fresh();
    mkdirSync(join(d, 'target'));
    expect(() => atomicWriteFile(join(d, 'target'), 'x')).toThrow(/EISDIR|directory/);
    expect(readdirSync(d)).toEqual(['target']);
  });
});

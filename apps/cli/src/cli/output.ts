// Where a command writes: checked up-front (before any computation), so a path that cannot be
// written fails at once as bad input (exit 2) naming the flag, the path and the fix, not as a raw
// ENOENT/ENOTDIR/EACCES halfway through; and the folders a command creates are removed if it fails.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, fsPathError } from './errors.js';

/** The nearest existing path at or above p (where creating p would start). */
function existingAncestor(p: string): string {
  let cur = p;
  while (!existsSync(cur) && dirname(cur) !== cur) cur = dirname(cur);
  return cur;
}

/** A path that does not exist yet can be created: its nearest existing ancestor is a writable folder. */
function checkCreatable(path: string, flag: string): void {
  const base = existingAncestor(path);
  if (!statSync(base).isDirectory()) throw new CliError(`${flag} ${path}: ${base} is a file, not a folder; choose a path inside a folder`);
  try {
    accessSync(base, constants.W_OK);
  } catch (e) {
    throw fsPathError(e, base === path ? flag : `${flag} ${path}`) ?? e;
  }
}

/** Checks that `path` (given as `flag`) can be written as a new or replaced file; its folder must exist. */
export function checkOutputFile(path: string, flag: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new CliError(`${flag} ${path} is a folder; give a file path, e.g. ${join(path, 'report.html')}`);
  }
  const dir = dirname(path);
  if (!existsSync(dir)) throw new CliError(`${flag} ${path}: the folder ${dir} does not exist; create it first or choose another path`);
  // Written to a temp file in the folder and renamed over the old one: the folder must take writes.
  checkCreatable(dir, `${flag} ${path}`);
}

/**
 * Checks that `path` (given as `flag`) can be an output folder: absent (and creatable) or empty.
 * A non-empty folder is refused with `notEmpty(path)`, so nothing of the user's is overwritten.
 */
export function checkOutputDir(path: string, flag: string, notEmpty: (path: string) => string): void {
  if (!existsSync(path)) return checkCreatable(path, flag);
  if (!statSync(path).isDirectory()) throw new CliError(`${flag} ${path} is a file, not a folder; choose a new folder`);
  if (readdirSync(path).length > 0) throw new CliError(notEmpty(path));
  checkCreatable(path, flag);
}

/**
 * Creates the output folder `path` (and missing parents). Returns the undo for when the command
 * fails: it removes the folders this created, or empties `path` if it was already there.
 */
export function createOutputDir(path: string, flag: string): () => void {
  let first: string | undefined;
  try {
    first = mkdirSync(path, { recursive: true });
  } catch (e) {
    throw fsPathError(e, `${flag} ${path}`) ?? e;
  }
  return () => {
    if (first !== undefined) rmSync(first, { recursive: true, force: true });
    else for (const f of readdirSync(path)) rmSync(join(path, f), { recursive: true, force: true });
  };
}

// The --out folder of discover, checked before any work: discover writes result.json,
// rollout-error.png and shard files there and replaces its own earlier ones, so a folder holding
// anything else (another command's run, a file of the user's) is refused rather than overwritten.
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fsPathError } from '../cli/errors.js';
import { checkOutputDir } from '../cli/output.js';

const SHARD_FILE = /^shard-\d+-of-\d+\.json$/;
/** writeFileAtomic's temp files (fs-atomic.ts), left only by a crash. */
const TEMP_FILE = /^\.(result\.json|rollout-error\.png|shard-\d+-of-\d+\.json)\.tmp-\d+-\d+$/;

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `name` in `dir` is something discover wrote (its result, plot, shard files). */
function isDiscoverFile(dir: string, name: string): boolean {
  if (name === 'rollout-error.png' || TEMP_FILE.test(name)) return true;
  if (name === 'result.json') {
    const r = readJson(join(dir, name));
    return r !== undefined && r['version'] === 1 && ['stages', 'candidates', 'rmse'].every((k) => k in r);
  }
  return SHARD_FILE.test(name) && readJson(join(dir, name))?.['kind'] === 'noether-discover-shard';
}

/** Refuses an --out discover cannot write, or whose contents are not discover's own (exit 2). */
export function checkOutDir(out: string): void {
  const entries = existsSync(out) && statSync(out).isDirectory() ? readdirSync(out) : [];
  const foreign = entries.filter((f) => !isDiscoverFile(out, f));
  if (entries.length && !foreign.length) {
    // A run of discover's own is replaced: the folder must be writable.
    try {
      return accessSync(out, constants.W_OK);
    } catch (e) {
      throw fsPathError(e, '--out') ?? e;
    }
  }
  checkOutputDir(out, '--out', () => {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, … (${foreign.length} entries)` : '');
    return `--out ${out} already holds files that are not a noether discover run (${shown}), which discover would overwrite: choose a new folder`;
  });
}

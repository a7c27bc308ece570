// Where the reference files live: $NOETHER_GOLDEN_DIR, else <repo root>/../shared/golden.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const goldenDir = process.env.NOETHER_GOLDEN_DIR ?? resolve(repoRoot, '../shared/golden');

export function goldenPath(...parts: string[]): string {
  const p = resolve(goldenDir, ...parts);
  if (!existsSync(p)) {
    throw new Error(`golden file ${p} not found: set NOETHER_GOLDEN_DIR to the folder holding metrics.json and lpips/`);
  }
  return p;
}

// Versions recorded in meta.json, and the run-directory format this CLI reads.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { version as coreVersion } from '@noether/core';

/** Bumped when the layout of a run directory or its checkpoints changes incompatibly. */
export const RUN_FORMAT = 1;

const require = createRequire(import.meta.url);

/** A package's version: its package.json is found by walking up from its entry point
 * (exports maps often hide `name/package.json`). */
function pkgVersion(name: string): string | undefined {
  try {
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 6; i++) {
      const f = join(dir, 'package.json');
      if (existsSync(f)) {
        const pkg = JSON.parse(readFileSync(f, 'utf8'));
        if (pkg.name === name) return pkg.version as string;
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return undefined;
}

export function cliVersion(): string {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
}

export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { '@noether/cli': cliVersion(), '@noether/core': coreVersion };
  for (const n of ['@noether/predictors-mlp', '@noether/predictors-svg', '@noether/embeddings-cnn', '@noether/embeddings-symbolic', '@noether/datasets', '@noether/metrics', '@tensorflow/tfjs-core']) {
    const v = pkgVersion(n);
    if (v) out[n] = v;
  }
  return out;
}

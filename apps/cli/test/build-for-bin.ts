// Builds what the real `noether` bin runs (dist/ of the CLI and of the packages it imports)
// before the tests that spawn it (called from bin.test.ts, so other test files do not pay for it). Like make: a package is recompiled only when a source
// file is newer than its dist/, so a warm run costs a few stat calls.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const PACKAGES = ['packages/core', 'packages/metrics', 'packages/predictors-mlp', 'packages/predictors-svg', 'packages/embeddings-cnn', 'packages/embeddings-symbolic', 'packages/datasets', 'apps/cli'];

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
}

export default function setup(): void {
  for (const p of PACKAGES) {
    const dir = join(root, p);
    const built = existsSync(join(dir, 'dist', 'index.js')) ? statSync(join(dir, 'dist', 'index.js')).mtimeMs : 0;
    const src = Math.max(newest(join(dir, 'src')), statSync(join(dir, 'package.json')).mtimeMs, statSync(join(dir, 'tsconfig.json')).mtimeMs);
    if (src <= built) continue;
    try {
      // The package's own build script: core's also bundles tfjs registrations plain tsc does not emit.
      execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'pipe' });
    } catch (e) {
      const out = String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '');
      throw new Error(`building ${p} for the bin tests failed (fix it, or run npm run build):\n${out.slice(0, 2000)}`);
    }
  }
}

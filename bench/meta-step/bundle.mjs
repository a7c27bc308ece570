// Bundles the tfjs benchmark worker, with @noether/core, @noether/embeddings-cnn and
// @noether/predictors-svg taken from source (the '@noether/source' condition, as the tests do) and
// tfjs from its ES-module build (the 'module' field, as vitest / vite do), into
// bench/out/meta-step/worker-tfjs.mjs.
// Why bundle rather than import core's dist/: no build step, and no stale dist/ (the bench measures
// the source as it is). (Until 0efcf1f core's dist/ could not be imported by plain Node at all.)
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const here = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = join(here, '../out/meta-step');

export async function bundleWorker({ quiet = false } = {}) {
  mkdirSync(OUT_DIR, { recursive: true });
  const t0 = Date.now();
  const bundle = await rolldown({
    input: join(here, 'worker-tfjs.mjs'),
    platform: 'node',
    resolve: {
      conditionNames: ['@noether/source', 'import', 'module', 'default'],
      mainFields: ['module', 'main'],
    },
    logLevel: 'warn',
    onLog(level, log, handler) {
      if (log.code === 'EVAL' || log.code === 'CIRCULAR_DEPENDENCY') return; // emscripten glue, tfjs internals
      handler(level, log);
    },
  });
  const file = join(OUT_DIR, 'worker-tfjs.mjs');
  // CommonJS parts (the emscripten glue) use __dirname / __filename to find the .wasm files.
  const banner = [
    "import { fileURLToPath as __bench_fileURLToPath } from 'node:url';",
    "import { dirname as __bench_dirname } from 'node:path';",
    'const __filename = __bench_fileURLToPath(import.meta.url);',
    'const __dirname = __bench_dirname(__filename);',
  ].join('\n');
  await bundle.write({ file, format: 'esm', sourcemap: false, codeSplitting: false, banner });
  await bundle.close();
  // The emscripten glue of tfjs-backend-wasm looks for its .wasm binaries next to the script.
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(wasmDir, 'dist', f), join(OUT_DIR, f));
  }
  if (!quiet) console.error(`[bench] bundled ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleWorker();

// Bundles src/tfjs-extras.ts into dist/tfjs-extras.js (see that file for why).
import { build } from 'rolldown';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  cwd: root,
  input: 'src/tfjs-extras.ts',
  external: ['@tensorflow/tfjs-core'],
  logLevel: 'warn',
  output: { file: 'dist/tfjs-extras.js', format: 'esm' },
});

// Times MLP pre-training steps: `node bench/discover/profile-pretrain.mjs [backend] [steps] [hidden] [pairs]`,
// on wasm with and without the CLI's transposed-matmul kernel wrapper (apps/cli must be built).
import { tf, selectBackend } from '@noether/core';
import { VectorFieldPredictor, pretrain } from '@noether/predictors-mlp';
import { installWasmMatMulTranspose } from '../../apps/cli/dist/discover/wasm-matmul.js';

const [backend = 'wasm', stepsArg = '20', hiddenArg = '200', nArg = '750'] = process.argv.slice(2);
await selectBackend({ backend, quiet: true });
const steps = Number(stepsArg);
const n = Number(nArg);
const p = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: Number(hiddenArg) });
const init = p.init(0);
const x = tf.randomNormal([n, 2], 0, 1, 'float32', 1);
const dxdt = tf.randomNormal([n, 2], 0, 1, 'float32', 2);
const time = () => {
  tf.dispose(Object.values(pretrain(p, init, { x, dxdt }, { steps: 2 }).params));
  const t0 = performance.now();
  const r = pretrain(p, init, { x, dxdt }, { steps });
  const ms = (performance.now() - t0) / steps;
  tf.dispose(Object.values(r.params));
  return { msPerStep: +ms.toFixed(1), finalLoss: r.losses[r.losses.length - 1] };
};
const out = { backend: tf.getBackend(), hidden: Number(hiddenArg), pairs: n, steps, plain: time() };
if (backend === 'wasm' && installWasmMatMulTranspose()) out.wrapped = time();
console.log(JSON.stringify(out));

import { tf, selectBackend, disposeParams } from '@noether/core';
import { VectorFieldPredictor, pretrain } from '@noether/predictors-mlp';
import { symbolicEmbedding, parseFormula } from '@noether/embeddings-symbolic';
import { installWasmMatMulTranspose } from '../../apps/cli/dist/discover/wasm-matmul.js';
import { loadDiscoverData } from '../../apps/cli/dist/discover/data.js';
import { rolloutErrors } from '../../apps/cli/dist/discover/evaluate.js';
await selectBackend({ backend: 'wasm', quiet: true });
installWasmMatMulTranspose();
const d = loadDiscoverData({ source: 'spring', seed: 0 });
const p = new VectorFieldPredictor('mlp', { dt: d.dt, hidden: 200 });
const init = p.init(0);
const pairs = { x: tf.tensor2d(d.pairs.x, [d.pairs.n, 2]), dxdt: tf.tensor2d(d.pairs.dxdt, [d.pairs.n, 2]) };
const theta = pretrain(p, init, pairs, { steps: Number(process.argv[2] ?? 100), lr: 1e-3, weightDecay: 1e-4 }).params;
const trainSet = { values: d.train, n: d.nTrain, T: d.T };
console.log('untailored', rolloutErrors(p, theta, trainSet).mse);
const emb = symbolicEmbedding(parseFormula('q^2 + c*p^2', ['q','p']), [1]);
for (const lr of [0, 1e-9, 1e-6, 1e-4, 1e-3]) {
  const phi = emb.init(0);
  console.log('lr', lr, rolloutErrors(p, theta, trainSet, { embedding: emb, phi, lr }).mse);
}
console.log('oracle', rolloutErrors(p, theta, trainSet, { embedding: d.oracle.embedding, phi: {}, lr: 1e-6 }).mse);

import { it } from 'vitest';
import { selectBackend } from '../../core/src/backend/index.js';
import { tf, ArrayDataset, GradientInnerOptimizer, initMetaState, metaStep, predictSequence, makeWindow, type Embedding } from '@noether/core';
import { VectorFieldPredictor } from '../src/index.js';
const energy: Embedding = { name: 'e', arity: 1, dim: 1, init: () => ({}), apply: (_p, xs) => tf.sum(tf.square(xs[0]!), -1, true) };
it('timing', async () => {
  for (const be of ['cpu', 'wasm'] as const) {
    await selectBackend({ backend: be, quiet: true });
    const P = new VectorFieldPredictor('mlp', { dt: 0.1 });
    for (const [B, T] of [[1, 45], [25, 45], [25, 30]]) {
      const obs = tf.randomNormal([B, T, 2]);
      const setup = { predictor: P, embedding: energy, mode: 'oracle' as const, inner: new GradientInnerOptimizer({ lr: 1e-3 }), form: '2a' as const, lrTheta: 1e-3, lrPhi: 0 };
      let st = initMetaState(setup, P.init(1), {});
      let t0 = performance.now();
      for (let i = 0; i < 3; i++) st = metaStep(setup, st, { obs }).state;
      const meta = (performance.now() - t0) / 3;
      t0 = performance.now();
      for (let i = 0; i < 3; i++) tf.tidy(() => { const w = makeWindow(P, { obs }, { contextLength: 1 }); predictSequence({ predictor: P, theta: st.theta, embedding: energy, phi: {}, inner: setup.inner, form: '2a' }, w.seq, { differentiable: false }).tailored.preds[0]!.dataSync(); });
      const pred = (performance.now() - t0) / 3;
      const H = new VectorFieldPredictor('hnn', { dt: 0.1 });
      const th = H.init(1);
      t0 = performance.now();
      tf.tidy(() => { const w = makeWindow(H, { obs }, { contextLength: 1 }); predictSequence({ predictor: H, theta: th, inner: setup.inner, form: '2a' }, w.seq, { differentiable: false }).tailored.preds[T-2]!.dataSync(); });
      console.log(be, B, T, 'metaStep', meta.toFixed(0), 'ms; tailor+rollout', pred.toFixed(0), 'ms; hnn rollout', (performance.now() - t0).toFixed(0));
    }
  }
}, 600000);

import { it } from 'vitest';
import { tf, metaLoss, GradientInnerOptimizer, type Params } from '@noether/core';
import { tinySetup } from '../src/index.js';

it('debug', () => {
  const mode = (process.env.TMODE ?? 'latent') as 'latent' | 'cn';
  const lr = Number(process.env.LR ?? 20);
  const a = tinySetup('svg-action', mode, { lr, activation: 'elu' });
  if (process.env.TF_) a.setup.teacherForcing = process.env.TF_ === '1';
  if (process.env.HOR) a.setup.horizon = Number(process.env.HOR);
  const picks = ['enc/b0/w', 'dec/out/w', 'fp/l0/wh', 'fp/embed/w'];
  const loss = (theta: Params) => metaLoss(a.setup, theta, a.phi, a.batch, 0);
  const grads = (firstOrder: boolean) => tf.tidy(() => {
    const s = { ...a.setup, inner: new GradientInnerOptimizer({ steps: 1, lr, firstOrder }) };
    const g = tf.grads((...ts: tf.Tensor[]) => metaLoss(s, { ...a.theta, ...Object.fromEntries(picks.map((n, i) => [n, ts[i]!])) }, a.phi, a.batch, 0))(picks.map((n) => a.theta[n]!));
    return g.map((t) => Array.from(t.dataSync()));
  });
  const got = grads(false), fo = grads(true);
  picks.forEach((name, k) => {
    const order = got[k]!.map((v, i) => [Math.abs(v), i] as const).sort((x, y) => y[0] - x[0]).slice(0, 3);
    for (const [, i] of order) {
      const base = a.theta[name]!.dataSync();
      const at = (d: number) => tf.tidy(() => { const v = base.slice(); v[i] = v[i]! + d; return loss({ ...a.theta, [name]: tf.tensor(v, a.theta[name]!.shape) }).dataSync()[0]!; });
      const fds = [1e-2, 3e-3, 1e-3].map((h) => (at(h) - at(-h)) / (2 * h));
      console.log(`${name}[${i}] so=${got[k]![i]!.toPrecision(6)} fo=${fo[k]![i]!.toPrecision(6)} fd=${fds.map((x) => x.toPrecision(6)).join(' ')}`);
    }
  });
});

// LSTMs as pure functions over flat Params, after SVG's `lstm` and `gaussian_lstm` modules:
// a linear embedding, `layers` LSTM cells, and a linear read-out (tanh for the frame predictor;
// mean and log-variance heads for the Gaussian LSTM). State is explicit: {h, c} per layer.
import { tf } from '../tf.js';
import type { Params } from '../params.js';
import { Rng, randomUniform } from '../rng.js';
import { dense, initDense, DCGAN_INIT, type WeightInit } from './conv.js';

export interface LstmState {
  h: tf.Tensor[];
  c: tf.Tensor[];
}

/** Cell `name`: `${name}/wx` [in, 4H], `${name}/wh` [H, 4H], `${name}/b` [4H]; gate order i, f, g, o
 * (as PyTorch). With a 'normal' init the biases start at 0 and the forget gate's at `forgetBias`
 * (default 1). With 'fanIn' the cell is drawn as PyTorch's LSTMCell does — the init SVG's and the
 * Noether code's LSTM cells keep, since their `init_weights` only matches Conv/Linear/BatchNorm
 * classes: every weight and both biases U(±1/√H). Our one bias stands for bias_ih + bias_hh, so it
 * is the sum of two draws; `forgetBias`, if given, replaces bias_ih's forget slice (the Noether
 * code's `init_forget_bias_to_one`, frame predictor only), leaving forget = forgetBias + bias_hh. */
export function initLstmCell(rng: Rng, name: string, inDim: number, hidden: number, o: { init?: WeightInit; forgetBias?: number } = {}): Params {
  const init = o.init ?? DCGAN_INIT;
  if (init.kind === 'fanIn') {
    const lim = 1 / Math.sqrt(hidden);
    const u = (shape: number[]) => randomUniform(rng, shape, -lim, lim);
    const wx = u([inDim, 4 * hidden]);
    const wh = u([hidden, 4 * hidden]);
    const bIh = u([4 * hidden]);
    const bHh = u([4 * hidden]);
    const ih = bIh.dataSync().slice();
    if (o.forgetBias !== undefined) ih.fill(o.forgetBias, hidden, 2 * hidden);
    const b = tf.tidy(() => tf.add(tf.tensor1d(ih), bHh));
    tf.dispose([bIh, bHh]);
    return { [`${name}/wx`]: wx, [`${name}/wh`]: wh, [`${name}/b`]: b };
  }
  const wx = initDense(rng, `${name}/x`, inDim, 4 * hidden, { init, bias: false })[`${name}/x/w`]!;
  const wh = initDense(rng, `${name}/h`, hidden, 4 * hidden, { init, bias: false })[`${name}/h/w`]!;
  const b = new Float32Array(4 * hidden);
  b.fill(o.forgetBias ?? 1, hidden, 2 * hidden);
  return { [`${name}/wx`]: wx, [`${name}/wh`]: wh, [`${name}/b`]: tf.tensor1d(b) };
}

/** Init of the cells of initLstm / initGaussianLstm when it differs from the dense layers'. */
export interface LstmCellInit {
  init?: WeightInit;
  forgetBias?: number;
}

/** One LSTM cell step: x [B, in], h, c [B, H] → new h, c. */
export function lstmCell(p: Params, name: string, x: tf.Tensor, h: tf.Tensor, c: tf.Tensor): { h: tf.Tensor; c: tf.Tensor } {
  const wx = p[`${name}/wx`];
  const wh = p[`${name}/wh`];
  const b = p[`${name}/b`];
  if (!wx || !wh || !b) throw new Error(`LSTM cell parameters '${name}/{wx,wh,b}' not found`);
  const gates = tf.add(tf.add(tf.matMul(x as tf.Tensor2D, wx as tf.Tensor2D), tf.matMul(h as tf.Tensor2D, wh as tf.Tensor2D)), b);
  const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  const h2 = tf.mul(tf.sigmoid(o), tf.tanh(c2));
  return { h: h2, c: c2 };
}

export interface LstmSpec {
  inDim: number;
  hidden: number;
  outDim: number;
  layers: number;
  /** Read-out activation (SVG's frame predictor: tanh). */
  outAct: 'tanh' | 'linear';
}

/** `embed` (in→H), cells `l{i}`, read-out `out` (H→out); `init` for the dense layers, `cell` (default
 * the same `init`) for the cells. */
export function initLstm(rng: Rng, spec: LstmSpec, o: { init?: WeightInit; cell?: LstmCellInit } = {}): Params {
  let p: Params = initDense(rng, 'embed', spec.inDim, spec.hidden, o);
  for (let i = 0; i < spec.layers; i++) p = { ...p, ...initLstmCell(rng, `l${i}`, spec.hidden, spec.hidden, o.cell ?? o) };
  return { ...p, ...initDense(rng, 'out', spec.hidden, spec.outDim, o) };
}

export function lstmZeroState(layers: number, hidden: number, batchSize: number): LstmState {
  const z = () => Array.from({ length: layers }, () => tf.zeros([batchSize, hidden]));
  return { h: z(), c: z() };
}

function runCells(layers: number, p: Params, x: tf.Tensor, s: LstmState): { top: tf.Tensor; state: LstmState } {
  if (s.h.length !== layers || s.c.length !== layers) throw new Error(`LSTM state has ${s.h.length} layer(s), expected ${layers}`);
  let inp = tf.matMul(x as tf.Tensor2D, p['embed/w'] as tf.Tensor2D) as tf.Tensor;
  if (p['embed/b']) inp = tf.add(inp, p['embed/b']);
  const h: tf.Tensor[] = [];
  const c: tf.Tensor[] = [];
  for (let i = 0; i < layers; i++) {
    const r = lstmCell(p, `l${i}`, inp, s.h[i]!, s.c[i]!);
    h.push(r.h);
    c.push(r.c);
    inp = r.h;
  }
  return { top: inp, state: { h, c } };
}

/** x [B, in] → y [B, out] and the next state. */
export function lstm(spec: LstmSpec, p: Params, x: tf.Tensor, s: LstmState): { y: tf.Tensor; state: LstmState } {
  if (!p['embed/w']) throw new Error(`LSTM parameters 'embed/w' not found`);
  const { top, state } = runCells(spec.layers, p, x, s);
  const y = dense(p, 'out', top);
  return { y: spec.outAct === 'tanh' ? tf.tanh(y) : y, state };
}

export interface GaussianLstmSpec {
  inDim: number;
  hidden: number;
  zDim: number;
  layers: number;
}

/** `embed`, cells `l{i}`, heads `mu` and `logvar` (H→z); `cell` as in initLstm. */
export function initGaussianLstm(rng: Rng, spec: GaussianLstmSpec, o: { init?: WeightInit; cell?: LstmCellInit } = {}): Params {
  let p: Params = initDense(rng, 'embed', spec.inDim, spec.hidden, o);
  for (let i = 0; i < spec.layers; i++) p = { ...p, ...initLstmCell(rng, `l${i}`, spec.hidden, spec.hidden, o.cell ?? o) };
  return { ...p, ...initDense(rng, 'mu', spec.hidden, spec.zDim, o), ...initDense(rng, 'logvar', spec.hidden, spec.zDim, o) };
}

/** x [B, in] → z = μ + ε·exp(½ logvar) with the given ε [B, z] (reparameterised; ε absent → z = μ). */
export function gaussianLstm(
  spec: GaussianLstmSpec, p: Params, x: tf.Tensor, s: LstmState, eps?: tf.Tensor,
): { z: tf.Tensor; mu: tf.Tensor; logvar: tf.Tensor; state: LstmState } {
  if (!p['embed/w']) throw new Error(`Gaussian LSTM parameters 'embed/w' not found`);
  const { top, state } = runCells(spec.layers, p, x, s);
  const mu = dense(p, 'mu', top);
  const logvar = dense(p, 'logvar', top);
  const z = eps ? tf.add(mu, tf.mul(eps, tf.exp(tf.mul(logvar, 0.5)))) : mu;
  return { z, mu, logvar, state };
}

/** KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) per example, summed over the last axis: [B]. */
export function gaussianKl(mu1: tf.Tensor, logvar1: tf.Tensor, mu2: tf.Tensor, logvar2: tf.Tensor): tf.Tensor {
  const term = tf.sub(
    tf.add(tf.mul(tf.sub(logvar2, logvar1), 0.5), tf.div(tf.add(tf.exp(logvar1), tf.square(tf.sub(mu1, mu2))), tf.mul(tf.exp(logvar2), 2))),
    0.5,
  );
  return tf.sum(term, -1);
}

/** An LSTM state as flat Params (`${prefix}/h{i}`, `${prefix}/c{i}`), e.g. for State.latent. */
export function lstmStateToParams(prefix: string, s: LstmState): Params {
  const out: Params = {};
  s.h.forEach((t, i) => (out[`${prefix}/h${i}`] = t));
  s.c.forEach((t, i) => (out[`${prefix}/c${i}`] = t));
  return out;
}

export function lstmStateFromParams(prefix: string, p: Params, layers: number): LstmState {
  const get = (k: string) => {
    const t = p[k];
    if (!t) throw new Error(`LSTM state '${k}' not found`);
    return t;
  };
  return {
    h: Array.from({ length: layers }, (_, i) => get(`${prefix}/h${i}`)),
    c: Array.from({ length: layers }, (_, i) => get(`${prefix}/c${i}`)),
  };
}

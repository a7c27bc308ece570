// The three benchmarked meta-training problems, built from @noether/core's algorithm (metaStep with
// a Predictor / Embedding implementing core's contracts; for svg, the real SVG-LP of
// @noether/predictors-svg). bench/peers/meta_step.py (+ svg_lp.py) computes the same steps in
// PyTorch; keep the files in step (shapes, layers, hyper-parameters).
import { tf, nn, Rng, GradientInnerOptimizer, makeWindow, examples } from '@noether/core';
import { CnnEmbedding } from '@noether/embeddings-cnn';
import { svgFactory } from '@noether/predictors-svg';

// ---------------------------------------------------------------------------------------------
// (1) HNN-size MLP on a 2-D oscillator.

export const MLP = {
  batch: 256,
  context: 1,
  horizon: 5, // rollout length T
  dt: 0.1,
  hidden: 200,
  innerLr: 0.01,
  lrTheta: 1e-3,
  lrPhi: 1e-3,
  batches: 4, // distinct batches cycled through (made once, outside the timed step)
};

/** x_t = x_{t−1} + f(x_{t−1})·dt with f = MLP 2→200→200→2, tanh (HNN's size; no last bias, as HNN). */
class MlpPredictor {
  name = 'bench-mlp';
  tailor = 'all';
  tailorModes = ['all'];
  contextLength = 1;
  spec = { sizes: [2, MLP.hidden, MLP.hidden, 2], activation: 'tanh', lastBias: false };
  init(seed) {
    return nn.initMlp(this.spec, seed);
  }
  initState(_p, context) {
    return { obs: tf.squeeze(tf.slice(context, [0, context.shape[1] - 1], [-1, 1]), [1]) };
  }
  step(p, s) {
    return { obs: tf.add(s.obs, tf.mul(nn.mlp(this.spec, p, s.obs), MLP.dt)) };
  }
}

/** Learned quadratic conserved quantity g(x) = xᵀAx + bᵀx (k = 1; 6 parameters). */
class QuadraticEmbedding {
  name = 'bench-quadratic';
  arity = 1;
  dim = 1;
  init(seed) {
    const rng = new Rng(seed);
    return { A: tf.tensor2d(rng.normalArray(4, 0, 0.5), [2, 2]), b: tf.tensor1d(rng.normalArray(2, 0, 0.5)) };
  }
  apply(p, xs) {
    const x = xs[0];
    const quad = tf.sum(tf.mul(tf.matMul(x, p.A), x), -1, true);
    return tf.add(quad, tf.matMul(x, tf.reshape(p.b, [2, 1])));
  }
}

/** `count` batches of oscillator trajectories [B, C+T, 2]: core's example data (radius 0.5..1.5,
 * random phase, dt 0.1), cut into batches. */
function oscillatorBatches(count, seed) {
  const { batch: B, context: C, horizon: T, dt } = MLP;
  if (dt !== examples.OSCILLATOR_DT) throw new Error(`MLP.dt ${dt} must be core's oscillator dt ${examples.OSCILLATOR_DT}`);
  const L = C + T;
  const all = examples.oscillatorData(count * B, L, seed);
  return Array.from({ length: count }, (_, k) => tf.tensor3d(all.subarray(k * B * L * 2, (k + 1) * B * L * 2), [B, L, 2]));
}

// ---------------------------------------------------------------------------------------------
// (2) Video: 64×64×3 frames, a small conv predictor with GroupNorm + conditional normalisation
// (per-example γ/β, tailored CNGRAD-style: mode 'cn'), the paper's CNN embedding on frame pairs.

export const VIDEO = {
  batch: 4,
  context: 2, // the embedding takes frame pairs: e_0 = g(x_{-1}, x_0)
  horizon: 10, // T
  size: 64,
  channels: 3,
  embDim: 64,
  innerLr: 0.01,
  lrTheta: 1e-3,
  lrPhi: 1e-3,
  batches: 2,
};

/** Encoder conv4×4/2 (3→32) → conv4×4/2 (32→64) → residual conv3×3 (64→64) at 16×16 → nearest ×2 +
 * conv3×3 (64→32) → nearest ×2 + conv3×3 (32→3) → sigmoid. Each hidden conv: GroupNorm(1, C) with
 * learned affine, then CN (per-example γ, β [B, C]), then ReLU. */
export const VIDEO_LAYERS = [
  // name, kernel, stride, in, out, normalised
  ['e1', 4, 2, 3, 32, true],
  ['e2', 4, 2, 32, 64, true],
  ['m', 3, 1, 64, 64, true],
  ['d1', 3, 1, 64, 32, true],
  ['d2', 3, 1, 32, 3, false],
];

class ConvCnPredictor {
  name = 'bench-conv-cn';
  tailor = 'cn';
  tailorModes = ['cn'];
  contextLength = 1;
  init(seed) {
    const rng = new Rng(seed);
    const init = { kind: 'fanIn' };
    let p = {};
    for (const [name, k, , cin, cout, norm] of VIDEO_LAYERS) {
      p = { ...p, ...nn.initConv2d(rng, name, k, cin, cout, { init }) };
      if (norm) p = { ...p, ...nn.initNorm(rng, `${name}/gn`, cout) };
    }
    return p;
  }
  conditioning(_params, batchSize) {
    let p = {};
    for (const [name, , , , cout, norm] of VIDEO_LAYERS) if (norm) p = { ...p, ...nn.initConditionalNorm(`${name}/cn`, batchSize, cout) };
    return p;
  }
  initState(_p, context) {
    return { obs: tf.squeeze(tf.slice(context, [0, context.shape[1] - 1], [-1, 1]), [1]) };
  }
  layer(p, name, x, stride) {
    const y = nn.conv2d(p, name, x, { stride, pad: 'same' });
    return tf.relu(nn.maybeConditionalNorm(p, `${name}/cn`, nn.norm('group', p, `${name}/gn`, y)));
  }
  step(p, s) {
    const h1 = this.layer(p, 'e1', s.obs, 2);
    const h2 = this.layer(p, 'e2', h1, 2);
    const h3 = tf.add(this.layer(p, 'm', h2, 1), h2);
    const d1 = this.layer(p, 'd1', nn.upsampleNearest2x(h3), 1);
    const out = nn.conv2d(p, 'd2', nn.upsampleNearest2x(d1), { stride: 1, pad: 'same' });
    return { obs: tf.sigmoid(out) };
  }
}

/** Uniform-noise clips [B, C+T, 64, 64, 3] in [0, 1] (content does not change the cost). */
function videoBatch(rng, cfg = VIDEO) {
  const { batch: B, context: C, horizon: T, size: S, channels: Ch } = cfg;
  const shape = [B, C + T, S, S, Ch];
  return tf.tensor(rng.uniformArray(shape.reduce((a, b) => a * b, 1), 0, 1), shape);
}

// ---------------------------------------------------------------------------------------------
// (3) SVG-LP (Denton & Fergus 2018) from @noether/predictors-svg: DCGAN-64 encoder/decoder with skips
// (widths 64, 128, 256, 512: the package default for 64×64), GroupNorm(1, C) + CN after every norm
// layer, frame-predictor LSTM (2 layers) and posterior / learned-prior Gaussian LSTMs (1 layer
// each), the SVG-LP paper's g 128, z 10, rnn 256 (physics101.ts has no 64×64 preset). Trained as
// physics101 trains it: teacher forcing with the β-weighted KL term, Noether form 2(b), one inner
// SGD step on the CN γ/β only (mode 'cn', lr 1e-4), outer Adam 1e-4, φ clipped at 1000.

export const SVG = {
  batch: 4,
  context: 2,
  // T, as the video problem. Fits wasm's 4 GiB since core frees used gradients during the backward,
  // shares Identity's buffer on wasm, and SVG stopped encoding frames twice (RSS 2.4 GB at T = 10;
  // before: 3.6 GB at T = 2, and T = 3 overflowed).
  horizon: 10,
  size: 64,
  channels: 3,
  gDim: 128,
  zDim: 10,
  rnnSize: 256,
  predictorLayers: 2,
  priorLayers: 1,
  posteriorLayers: 1,
  beta: 1e-4, // physics101's (the package default)
  embDim: 64,
  innerLr: 1e-4, // physics101's inner lr
  lrTheta: 1e-4,
  lrPhi: 1e-4,
  clipPhi: 1000,
  batches: 2,
};

export function svgPredictorOptions(cfg = SVG) {
  return {
    arch: 'dcgan', frameSize: cfg.size, channels: cfg.channels, gDim: cfg.gDim, zDim: cfg.zDim, rnnSize: cfg.rnnSize,
    predictorLayers: cfg.predictorLayers, priorLayers: cfg.priorLayers, posteriorLayers: cfg.posteriorLayers,
    contextLength: cfg.context, beta: cfg.beta,
  };
}

/** The posterior noise ε [T, B, z] that metaStep's window draws for meta-step `step` (noiseSeed =
 * the step counter, from 0): taken from core's own makeWindow, so the PyTorch peer gets the same ε. */
export function svgNoise(built, step) {
  return tf.tidy(() => {
    const { setup, batches } = built;
    const w = makeWindow(setup.predictor, batches[step % batches.length], {
      contextLength: setup.contextLength, horizon: setup.horizon, teacherForcing: setup.teacherForcing, noiseSeed: step,
    });
    return tf.stack(w.seq.inputs.map((i) => i.noise));
  });
}

// ---------------------------------------------------------------------------------------------

export const PROBLEMS = ['mlp', 'video', 'svg'];

/** MetaSetup, initial θ/φ and a few batches for a problem. Seeded: same seed → same numbers on every
 * backend (values are drawn in JS). `overrides` (svg only): SVG fields to change, e.g.
 * { horizon: 1, innerLr: 0.01 }. */
export function buildProblem(problem, seed = 1, overrides = {}) {
  if (problem === 'mlp') {
    const predictor = new MlpPredictor();
    const embedding = new QuadraticEmbedding();
    const setup = {
      predictor, embedding, mode: 'noether', form: '2a',
      inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: MLP.innerLr }),
      contextLength: MLP.context, horizon: MLP.horizon, lrTheta: MLP.lrTheta, lrPhi: MLP.lrPhi,
    };
    const batches = oscillatorBatches(MLP.batches, seed + 100).map((obs) => ({ obs }));
    return { setup, theta: predictor.init(seed), phi: embedding.init(seed + 1), batches, config: MLP };
  }
  if (problem === 'video') {
    const predictor = new ConvCnPredictor();
    const embedding = new CnnEmbedding({ dim: VIDEO.embDim, height: VIDEO.size, width: VIDEO.size, channels: VIDEO.channels, filters: [32, 64], kernel: 5 });
    const setup = {
      predictor, embedding, mode: 'noether', form: '2a', tailorMode: 'cn',
      // innerLr is the peers' step on the batch-mean loss; core steps per-example (CN) variables per
      // sequence (as each would alone), so the same computation is lr / batch here.
      inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: VIDEO.innerLr / VIDEO.batch }),
      contextLength: VIDEO.context, horizon: VIDEO.horizon, lrTheta: VIDEO.lrTheta, lrPhi: VIDEO.lrPhi,
    };
    const rng = new Rng(seed + 100);
    const batches = Array.from({ length: VIDEO.batches }, () => ({ obs: videoBatch(rng) }));
    return { setup, theta: predictor.init(seed), phi: embedding.init(seed + 1), batches, config: VIDEO };
  }
  if (problem === 'svg') {
    const cfg = { ...SVG, ...overrides };
    const predictor = svgFactory.create(svgPredictorOptions(cfg));
    const embedding = new CnnEmbedding({ dim: cfg.embDim, height: cfg.size, width: cfg.size, channels: cfg.channels, filters: [32, 64], kernel: 5 });
    const setup = {
      predictor, embedding, mode: 'noether', form: '2b', tailorMode: 'cn', teacherForcing: true,
      inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: cfg.innerLr / cfg.batch }), // per sequence, as for video
      contextLength: cfg.context, horizon: cfg.horizon, lrTheta: cfg.lrTheta, lrPhi: cfg.lrPhi, clipPhi: cfg.clipPhi,
    };
    const rng = new Rng(seed + 100);
    const batches = Array.from({ length: cfg.batches }, () => ({ obs: videoBatch(rng, cfg) }));
    return { setup, theta: predictor.init(seed), phi: embedding.init(seed + 1), batches, config: cfg };
  }
  throw new Error(`unknown problem '${problem}': use mlp, video or svg`);
}

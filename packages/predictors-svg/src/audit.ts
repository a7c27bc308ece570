// Tiny instances and one second-order meta-step closure each, for the lead's kernel audit
// (core's auditSecondOrder traces the kernels a closure dispatches) and for this package's tests.
import {
  tf, nn, Rng, randomNormal, randomUniform, GradientInnerOptimizer, metaLoss, valueAndGradsOf, prefixParams, scopeParams,
  type Batch, type Embedding, type MetaSetup, type Params, type TailorMode,
} from '@noether/core';
import { SvgActionPredictor, SvgPredictor, type SvgActionOptions, type SvgOptions } from './svg.js';

/** A tiny SVG (8×8 dcgan by default) for tests and audits. */
export function tinySvg(o: Partial<SvgOptions> = {}): SvgPredictor {
  return new SvgPredictor({
    arch: 'dcgan', frameSize: 8, channels: 3, widths: [3], gDim: 4, rnnSize: 5, zDim: 2, predictorLayers: 1,
    contextLength: 2, initStd: 0.2, beta: 0.1, ...o,
  });
}

export function tinySvgAction(o: Partial<SvgActionOptions> = {}): SvgActionPredictor {
  return new SvgActionPredictor({
    arch: 'dcgan', frameSize: 8, channels: 3, widths: [3], gDim: 4, rnnSize: 5, predictorLayers: 1,
    contextLength: 2, initStd: 0.2, actionDim: 1, ...o,
  });
}

/** A small conservation embedding over frame pairs (plugins may not depend on each other, so not
 * the CNN of @noether/embeddings-cnn): per-channel means and spatial moments of both frames → dense → tanh → dense. */
export function tinyEmbedding(channels = 3, dim = 3): Embedding {
  const feats = 2 * channels * 2;
  return {
    name: 'tiny-pair', arity: 2, dim,
    init: (seed) => {
      const rng = new Rng(seed);
      const init = { kind: 'normal', std: 0.5 } as const;
      return { ...nn.initDense(rng, 'l0', feats, 6, { init }), ...nn.initDense(rng, 'l1', 6, dim, { init }) };
    },
    apply: (p, xs) => {
      const f = xs.flatMap((x) => [tf.mean(x, [1, 2]), tf.mean(tf.square(x), [1, 2])]);
      return nn.dense(p, 'l1', tf.tanh(nn.dense(p, 'l0', tf.concat(f, 1))));
    },
  };
}

/** A batch of T frames (and actions) with values in [0, 1]. */
export function tinyBatch(seed: number, B: number, T: number, size: number, channels = 3, actionDim?: number): Batch {
  const rng = new Rng(seed);
  const b: Batch = { obs: randomUniform(rng, [B, T, size, size, channels], 0, 1) };
  if (actionDim) b.actions = randomNormal(rng, [B, T, actionDim]);
  return b;
}

export interface AuditSetup {
  setup: MetaSetup;
  theta: Params;
  phi: Params;
  batch: Batch;
}

/** A meta-setup of a tiny predictor with one differentiable inner SGD step; `svg`: further SVG-LP
 * options (e.g. the reference code's skips, contextZ, contextKl). */
export function tinySetup(kind: 'svg' | 'svg-action', mode: TailorMode, o: { norm?: nn.NormKind; arch?: 'dcgan' | 'vgg'; lr?: number; teacherForcing?: boolean; activation?: 'lrelu' | 'elu'; svg?: Partial<SvgOptions> } = {}): AuditSetup {
  const arch = o.arch ?? 'dcgan';
  const shape = arch === 'vgg' ? { frameSize: 8, widths: [3], convsPerBlock: [2] } : {};
  const predictor = kind === 'svg' ? tinySvg({ arch, norm: o.norm ?? 'group', activation: o.activation ?? 'lrelu', ...shape, ...o.svg }) : tinySvgAction({ arch, norm: o.norm ?? 'group', activation: o.activation ?? 'lrelu', ...shape });
  const embedding = tinyEmbedding();
  const setup: MetaSetup = {
    predictor, embedding, mode: 'noether', tailorMode: mode,
    inner: new GradientInnerOptimizer({ kind: 'sgd', steps: 1, lr: o.lr ?? 0.5 }),
    form: '2b', lrTheta: 1e-3, lrPhi: 1e-3, teacherForcing: o.teacherForcing ?? kind === 'svg', horizon: 2,
  };
  return { setup, theta: predictor.init(1), phi: embedding.init(2), batch: tinyBatch(3, 2, 4, 8, 3, kind === 'svg-action' ? 1 : undefined) };
}

/** Cases for a second-order kernel audit: each closure builds a tiny instance and takes the
 * gradient of core's metaLoss (through one inner step) w.r.t. θ and φ. */
export function auditCases(): { name: string; run: () => void }[] {
  // The reference code's SVG-LP (skips from each step's input, sampled context z, context KL):
  // other kernels on the tape (slices of the noise, the carried skips).
  const reference: Partial<SvgOptions> = { skips: 'every-step', contextZ: 'sample', contextKl: true };
  const combos: [string, 'svg' | 'svg-action', TailorMode, nn.NormKind, 'dcgan' | 'vgg', Partial<SvgOptions>?][] = [
    ['svg/dcgan/group/cn', 'svg', 'cn', 'group', 'dcgan'],
    ['svg/vgg/batch/cn', 'svg', 'cn', 'batch', 'vgg'],
    ['svg/dcgan/group/all', 'svg', 'all', 'group', 'dcgan'],
    ['svg/dcgan/group/cn/reference-code', 'svg', 'cn', 'group', 'dcgan', reference],
    ['svg-action/dcgan/group/latent', 'svg-action', 'latent', 'group', 'dcgan'],
  ];
  return combos.map(([name, kind, mode, norm, arch, svg]) => ({
    name: `predictors-svg/${name}`,
    run: () => {
      const a = tinySetup(kind, mode, { norm, arch, svg });
      tf.tidy(() => {
        const all: Params = { ...prefixParams(a.theta, 'theta'), ...prefixParams(a.phi, 'phi') };
        valueAndGradsOf((v) => metaLoss(a.setup, scopeParams(v, 'theta'), scopeParams(v, 'phi'), a.batch, 0), all);
      });
      tf.dispose([a.batch.obs, ...(a.batch.actions ? [a.batch.actions] : []), ...Object.values(a.theta), ...Object.values(a.phi)]);
    },
  }));
}

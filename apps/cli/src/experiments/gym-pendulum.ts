// The controlled pendulum from pixels (paper, Fig. 3): Gym's Pendulum swing-up videos, an
// action-conditioned deterministic SVG that sees 4 history frames and 26 actions and predicts
// 26 frames. Three phases:
//   svg        SVG trained for P epochs (the paper: 50), then frozen;
//   svg-more   the same run continued for E more epochs (same optimiser state: "SVG (more steps)");
//   noether    the CNN embedding meta-learned for E epochs on top of the frozen SVG (lrTheta 0),
//              tailoring the LSTM's latent activations with one inner step (full preset, as the
//              paper) or the CN γ/β with one normalised step (quick preset, see there).
// E = outer.epochs (the paper: 20) and P = 2.5·E (the paper's 50:20), so --epochs scales both.
// Reports MSE and SSIM per predicted frame on held-out episodes.
import {
  TOKENS, buildExperiment, cloneParams, disposeMetaState, withThetaOf,
  type Dataset, type DatasetFactory, type ExperimentConfig, type MetaState, type Plugin,
} from '@noether/core';
import { GYM_ROD_REACH, GYM_VIEW, GymPendulumDataset, defaultTrainEpisodes, fileEpisodeSource, gymPendulumDataset, readGymManifest } from '@noether/datasets';
import { CliError } from '../cli/errors.js';
import { curveRows, persistenceCurves, writeCurves, writeFrameGrid, writeRunJson } from '../analyze/video.js';
import { tableModels, type ResultTableSpec } from './table.js';
import type { BuiltinExperiment } from './types.js';

/** SVG pre-training epochs per follow-up epoch (the paper: 50 then 20). */
export const PRETRAIN_RATIO = 2.5;

type GymPixelsOptions = {
  dir?: string; episodes?: number; trainEpisodes?: number; framesPerEpisode?: number; size?: number; supersample?: number;
  history?: number; future?: number; stride?: number; testStride?: number; actionNoise?: number; seed?: number;
  mirror?: boolean; view?: number;
};
const INT_KEYS = ['episodes', 'trainEpisodes', 'framesPerEpisode', 'size', 'supersample', 'history', 'future', 'stride', 'testStride', 'seed'] as const;

/** Validates the dataset options; each error names the field and what it must be. */
export function parseGymPixelsOptions(o: Record<string, unknown>): GymPixelsOptions {
  const what = "dataset 'gym-pendulum-pixels'";
  for (const k of Object.keys(o)) {
    if (![...INT_KEYS, 'dir', 'actionNoise', 'mirror', 'view'].includes(k)) throw new Error(`${what}: unknown option '${k}' (valid: dir, ${INT_KEYS.join(', ')}, actionNoise, mirror, view)`);
  }
  for (const k of INT_KEYS) {
    const v = o[k];
    const min = k === 'trainEpisodes' || k === 'seed' ? (k === 'seed' ? -Infinity : 0) : 1;
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) throw new Error(`${what}: ${k} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  if (o['dir'] !== undefined && (typeof o['dir'] !== 'string' || !o['dir'])) throw new Error(`${what}: dir must be a directory path, got ${JSON.stringify(o['dir'])}`);
  const an = o['actionNoise'];
  if (an !== undefined && (typeof an !== 'number' || !(an >= 0))) throw new Error(`${what}: actionNoise must be a number ≥ 0, got ${JSON.stringify(an)}`);
  const view = o['view'];
  if (view !== undefined && (typeof view !== 'number' || !(view > GYM_ROD_REACH))) throw new Error(`${what}: view must be a number > ${GYM_ROD_REACH} (the half-width of the square drawn; the rod reaches ${GYM_ROD_REACH}; Gym's is ${GYM_VIEW}), got ${JSON.stringify(view)}`);
  if (view !== undefined && o['dir'] !== undefined) throw new Error(`${what}: view applies to simulated episodes; the episodes in dir were rendered with the view their manifest.json records (remove view, or regenerate with noether generate gym-pendulum --view)`);
  if (o['mirror'] !== undefined && typeof o['mirror'] !== 'boolean') throw new Error(`${what}: mirror must be true or false, got ${JSON.stringify(o['mirror'])}`);
  return o as GymPixelsOptions;
}

export const gymPixelsFactory: DatasetFactory = {
  type: 'gym-pendulum-pixels',
  description: "Gym Pendulum swing-up videos with actions, windows of history + future frames (options: dir | episodes, trainEpisodes, framesPerEpisode, size, history, future, stride, testStride, seed; mirror: also train on left-right mirrored windows)",
  create: (options) => {
    const o = parseGymPixelsOptions(options);
    // The run builds the experiment once per phase: simulate (or index) the episodes once.
    const key = JSON.stringify(o);
    if (lastDataset?.key === key) return lastDataset.ds;
    const ds = makeGymDataset(o);
    lastDataset = { key, ds };
    return ds;
  },
};

let lastDataset: { key: string; ds: Dataset } | undefined;

/** Options that describe simulated episodes only: episodes on disk (dir) come as their manifest.json says. */
const SIMULATION_ONLY = ['episodes', 'framesPerEpisode', 'supersample', 'actionNoise', 'seed'] as const;

// Without dir the episodes are simulated (trainEpisodes default 5, as the paper, and as `noether generate`
// at most episodes − 1); with dir the split is the manifest's unless dataset.trainEpisodes is set, which
// is why the presets leave it unset.
function makeGymDataset(o: GymPixelsOptions): GymPendulumDataset {
  const win = { history: o.history ?? 4, future: o.future ?? 26, stride: o.stride, testStride: o.testStride, mirror: o.mirror };
  if (o.dir) {
    const m = readGymManifest(o.dir);
    // dataset.size is the frame size the preset's predictor and embedding are built for.
    if (o.size !== undefined && o.size !== m.size) {
      throw new Error(
        `dataset.dir ${o.dir} holds ${m.size}×${m.size} frames but dataset.size is ${o.size}, the frame size the predictor and embedding are built for: ` +
          `run with ${frameSets(m.size, true)}, or generate the episodes with --size ${o.size}`,
      );
    }
    const trainEpisodes = o.trainEpisodes ?? m.trainEpisodes;
    const n = m.episodes.length;
    if (trainEpisodes > n) throw new Error(`dataset.trainEpisodes ${trainEpisodes} is more than the ${n} episodes in ${o.dir}: set --set dataset.trainEpisodes=${n - 1} or fewer (the rest are tested on)`);
    const source = o.trainEpisodes === undefined ? `its manifest's trainEpisodes ${trainEpisodes}` : `dataset.trainEpisodes ${trainEpisodes}`;
    return checkSplits(new GymPendulumDataset(fileEpisodeSource(o.dir, m), { ...win, trainEpisodes }), `${o.dir} has ${n} episodes and ${source}`, n);
  }
  const episodes = o.episodes ?? 200;
  const trainEpisodes = o.trainEpisodes ?? defaultTrainEpisodes(episodes);
  if (trainEpisodes > episodes) throw new Error(`dataset.trainEpisodes ${trainEpisodes} is more than dataset.episodes ${episodes}: lower it or raise dataset.episodes`);
  const ds = gymPendulumDataset({
    ...win,
    episodes,
    trainEpisodes,
    frames: o.framesPerEpisode ?? 200,
    size: o.size ?? 64,
    supersample: o.supersample ?? 4,
    view: o.view,
    actionNoise: o.actionNoise ?? 0,
    seed: o.seed ?? 1,
  });
  return checkSplits(ds, `dataset.episodes ${episodes} with dataset.trainEpisodes ${trainEpisodes}`, episodes);
}

/** --set arguments making the predictor and embedding (and dataset.size) take `size`×`size` frames. */
function frameSets(size: number, withDataset: boolean): string {
  const sets = [...(withDataset ? ['dataset.size'] : []), 'predictor.frameSize', 'embedding.height', 'embedding.width'].map((f) => `--set ${f}=${size}`).join(' ');
  // The SVG halves the frame per block down to 4×4 (predictors-svg): its widths follow the size.
  const blocks = Math.log2(size / 4);
  return Number.isInteger(blocks) && blocks >= 1 ? `${sets} (and predictor.widths, if set, with ${blocks} entries: one per block)` : sets;
}

/** Refuses a split without windows before any training: the run would train, then fail to test (or train on nothing). */
function checkSplits(ds: GymPendulumDataset, what: string, episodes: number): GymPendulumDataset {
  const [train, test] = [ds.size('train'), ds.size('test')];
  if (train > 0 && test > 0) return ds;
  const fix = episodes < 2
    ? 'use 2 or more episodes: one to train on, one to test on'
    : test === 0 ? `set --set dataset.trainEpisodes=${episodes - 1} or fewer, or use more episodes` : 'set dataset.trainEpisodes to 1 or more';
  const windows = `windows of ${ds.seqLength} frames (dataset.history + dataset.future)`;
  throw new Error(`dataset: ${what}, which leaves ${train} training and ${test} test ${windows}: ${fix}`);
}

/**
 * The predictor and embedding must take the data's frames; checked before training (the data's
 * size is known only once the dataset is built: a dir's comes from its manifest).
 */
export function checkFrameConfig(cfg: { predictor: Record<string, unknown>; embedding?: Record<string, unknown> }, obsShape: readonly number[]): void {
  const [h, w, c] = obsShape as [number, number, number];
  const p = cfg.predictor;
  const e = cfg.embedding ?? {};
  const bad = [
    p['frameSize'] !== undefined && p['frameSize'] !== h ? `predictor.frameSize ${p['frameSize']}` : '',
    p['channels'] !== undefined && p['channels'] !== c ? `predictor.channels ${p['channels']}` : '',
    (e['height'] !== undefined && e['height'] !== h) || (e['width'] !== undefined && e['width'] !== w) ? `embedding.height/width ${e['height']}×${e['width']}` : '',
    e['channels'] !== undefined && e['channels'] !== c ? `embedding.channels ${e['channels']}` : '',
  ].filter(Boolean);
  if (bad.length) {
    const channels = bad.some((b) => b.includes('channels')) ? ` and the channels ${c}` : '';
    throw new CliError(`the data has ${h}×${w} frames with ${c} channels, but ${bad.join(', ')} do not match: run with ${frameSets(h, false)}${channels}`);
  }
}

export const gymPendulumPlugin: Plugin = (c) => {
  c.register(TOKENS.DatasetFactory, { useValue: gymPixelsFactory });
};

const common = {
  name: 'gym-pendulum',
  seed: 1,
  mode: 'noether' as const,
  noether: { form: '2b' as const, tailor: 'latent' as const },
  contextLength: 4,
  horizon: 26,
  teacherForcing: false,
};

/** SVG's epochs before the follow-up (pre) and the follow-up's (follow): --epochs scales both. */
function gymEpochs(cfg: ExperimentConfig): { pre: number; follow: number } {
  const follow = cfg.outer.epochs;
  return { pre: Math.max(1, Math.round(PRETRAIN_RATIO * follow)), follow };
}

/** The result table: the SVG phases by their epochs, Noether's untailored row as the frozen SVG it is,
 * and copying the last context frame as the reference. */
function gymTable(cfg: ExperimentConfig): ResultTableSpec & Required<Pick<ResultTableSpec, 'references'>> {
  const { pre, follow } = gymEpochs(cfg);
  return {
    phases: [
      { phase: 'svg', label: `SVG (${pre} epochs)`, tailors: false },
      { phase: 'svg-more', label: `SVG (more steps, ${pre + follow} epochs)`, tailors: false },
      { phase: 'noether', label: 'Noether', tailors: true, untailoredLabel: `Noether untailored (= SVG ${pre} epochs)` },
    ],
    references: async (exp) => [await persistenceCurves(exp)],
  };
}

export const gymPendulum: BuiltinExperiment = {
  description: 'Fig. 3: controlled pendulum from pixels; SVG (more steps) vs Noether (frozen SVG, learned CNN embedding; latent tailoring, CN in --quick); MSE/SSIM per frame',
  // Quick: 32×32 frames, 6 predicted frames instead of 26, tiny widths, 5 training episodes of 40
  // frames (155 windows), 4 follow-up epochs: SVG 10 epochs = 390 steps, +156, Noether 156 meta-steps.
  // About 3 min on 2 idle CPU cores (wasm); the smallest size at which SVG draws the rod at all.
  quickConfig: {
    ...common,
    horizon: 6,
    predictor: { type: 'svg-action', arch: 'dcgan', frameSize: 32, channels: 3, widths: [4, 8, 8], gDim: 16, rnnSize: 16, predictorLayers: 1, contextLength: 4, actionDim: 1 },
    embedding: { type: 'cnn', dim: 16, height: 32, width: 32, channels: 3, filters: [8, 16] },
    dataset: { type: 'gym-pendulum-pixels', episodes: 9, framesPerEpisode: 40, size: 32, supersample: 2, history: 4, future: 6, stride: 1, testStride: 10, seed: 1 },
    // CN tailoring with a normalised step (nsgd: length 0.3 per example), not the paper's latent SGD
    // step: on these small SVGs one latent step at lr 10 (on the batch mean of 4) changes nothing (tailored = untailored to 7
    // digits on 3 seeds), and with plain SGD the embedding learns to switch tailoring off by
    // shrinking. nsgd CN improves the held-out MSE on every seed measured (docs/results.md).
    noether: { form: '2b', tailor: 'cn' },
    inner: { optimizer: 'nsgd', steps: 1, lr: 0.3 },
    outer: { epochs: 4, batchSize: 4, lrTheta: 1e-2, lrPhi: 3e-3, clipPhi: 1000 },
    eval: { batchSize: 8, metrics: ['mse', 'ssim'] },
  },
  fullConfig: {
    ...common,
    predictor: { type: 'svg-action', arch: 'dcgan', frameSize: 64, channels: 3, gDim: 128, rnnSize: 256, predictorLayers: 2, contextLength: 4, actionDim: 1 },
    embedding: { type: 'cnn', dim: 64, height: 64, width: 64, channels: 3, filters: [32, 64] },
    dataset: { type: 'gym-pendulum-pixels', episodes: 200, framesPerEpisode: 200, size: 64, supersample: 4, stride: 1, testStride: 30, seed: 1 },
    // 10 / 16: the step of lr 10 on the batch mean of 16 windows, the value this preset had (and the
    // PyTorch twin of docs/results.md used) before core stepped each window as if alone.
    inner: { optimizer: 'sgd', steps: 1, lr: 10 / 16 },
    outer: { epochs: 20, batchSize: 16, lrTheta: 1e-3, lrPhi: 1e-3, clipPhi: 1000 },
    eval: { batchSize: 16, metrics: ['mse', 'ssim'] },
  },
  plugins: [gymPendulumPlugin],
  resultTable: gymTable,
  async run(ctx) {
    const cfg = ctx.config;
    const { pre, follow } = gymEpochs(cfg);
    ctx.log(`gym-pendulum: SVG ${pre} epochs, then SVG (more steps) +${follow} epochs and Noether ${follow} epochs (θ frozen)`);

    // Phase 1: SVG, no tailoring.
    const svgExp = await buildExperiment(ctx.container, { ...cfg, mode: 'baseline', outer: { ...cfg.outer, epochs: pre } }, 'config (svg phase)');
    checkFrameConfig(cfg, svgExp.dataset.obsShape);
    const data = cfg.dataset as Record<string, unknown>;
    if (data['dir'] !== undefined && svgExp.dataset instanceof GymPendulumDataset) {
      const ds = svgExp.dataset;
      const episodes = (split: 'train' | 'test') => new Set(ds.windowList(split).map(([e]) => e)).size;
      ctx.log(`gym-pendulum: ${episodes('train')} training and ${episodes('test')} test episodes from ${data['dir']} ` +
        `(${data['trainEpisodes'] === undefined ? "its manifest's split" : 'dataset.trainEpisodes'}): ${ds.size('train')} and ${ds.size('test')} windows of ${ds.obsShape[0]}×${ds.obsShape[1]} frames; ` +
        `dataset.${SIMULATION_ONLY.join(', ')} describe simulated episodes and are not used`);
    }
    const svg = await ctx.runner.trainPhase('svg', svgExp);
    const evSvg = await ctx.runner.evaluatePhase('svg', svgExp, svg.state);

    // Phase 2: the same run continued (θ, Adam moments and step count), follow more epochs.
    const moreExp = await buildExperiment(ctx.container, { ...cfg, mode: 'baseline', outer: { ...cfg.outer, epochs: pre + follow } }, 'config (svg-more phase)');
    const continueFrom = (from: MetaState) => (fresh: MetaState): MetaState => {
      disposeMetaState(fresh);
      return {
        theta: cloneParams(from.theta), phi: {}, step: from.step,
        optTheta: { step: from.optTheta.step, m: cloneParams(from.optTheta.m), v: cloneParams(from.optTheta.v) },
        optPhi: { step: 0, m: {}, v: {} },
      };
    };
    const more = await ctx.runner.trainPhase('svg-more', moreExp, continueFrom(svg.state));
    const evMore = await ctx.runner.evaluatePhase('svg-more', moreExp, more.state);

    // Phase 3: Noether on the frozen SVG θ: only φ learns.
    const nCfg = { ...cfg, outer: { ...cfg.outer, lrTheta: 0 } };
    const nExp = await buildExperiment(ctx.container, nCfg, 'config (noether phase)');
    const noe = await ctx.runner.trainPhase('noether', nExp, (fresh) => withThetaOf(fresh, svg.state));
    const evN = await ctx.runner.evaluatePhase('noether', nExp, noe.state);

    const spec = gymTable(cfg);
    const models = [...tableModels(spec, { svg: evSvg, 'svg-more': evMore, noether: evN }), ...(await spec.references(nExp))];
    writeCurves(ctx.runDir, models, { prefix: 'fig3', title: 'gym pendulum' });
    await writeFrameGrid(ctx.runDir, [
      { label: 'SVG (more steps)', exp: moreExp, state: more.state },
      { label: 'Noether', exp: nExp, state: noe.state },
    ], { name: 'frames', examples: 2, seed: cfg.seed });
    const table = curveRows(models);
    writeRunJson(ctx.runDir, 'video-summary.json', {
      experiment: 'gym-pendulum',
      paperFigure: 3,
      seed: cfg.seed,
      epochs: { svg: pre, svgMore: pre + follow, noether: follow },
      testSequences: evN.sequences,
      horizon: cfg.horizon,
      meanOverHorizon: table,
      innerLossBefore: evN.innerBefore,
    });
    disposeMetaState(svg.state);
    disposeMetaState(more.state);
    // φ is the only thing noether trained; θ was a clone.
    disposeMetaState(noe.state);
    ctx.runner.plotLoss();
    return {
      table,
      finalLoss: { svg: svg.finalLoss, 'svg-more': more.finalLoss, noether: noe.finalLoss },
      steps: { svg: svg.steps, 'svg-more': more.steps, noether: noe.steps },
    };
  },
};

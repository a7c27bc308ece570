// Physics 101 ramp videos (paper, Fig. 4): SVG-LP vs Noether (CN-only tailoring, form 2(b), one
// inner SGD step of the reference's size (referenceInnerLr), teacher-forced training, autoregressive
// test with the learned prior).
// Two phases, each from scratch with the same seed: 'svg' (no tailoring) and 'noether' (θ and the
// CNN embedding φ meta-learned together). Reports MSE, PSNR, SSIM (the reference's conventions) and,
// when LPIPS weights are available, LPIPS — per predicted frame (frames 3…22), for SVG and for the
// untailored and tailored predictions of the Noether model.
import { existsSync } from 'node:fs';
import {
  TOKENS, batchGroups, buildExperiment, disposeMetaState, disposeParams, tf,
  type Batch, type BatchOptions, type Dataset, type DatasetFactory, type Params, type Plugin, type Split,
} from '@noether/core';
import { Physics101Dataset } from '@noether/datasets';
import { LPIPS_WEIGHTS_ENV, PSNR_REFERENCE_CODE, SSIM_REFERENCE_CODE, lpipsMetric } from '@noether/metrics';
import { loadLpipsWeights } from '@noether/metrics/node';
import { curveRows, persistenceCurves, writeCurves, writeFrameGrid, writeRunJson } from '../analyze/video.js';
import { CliError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { tableModels, type ExtraMetrics, type ResultTableSpec } from './table.js';
import type { BuiltinExperiment } from './types.js';

export const PHYS101_HELP =
  'download phys101_v1.0.zip from http://phys101.csail.mit.edu (the data set has no licence: never ship it), unzip it, ' +
  'and give the folder with --data DIR (or --set dataset.root=DIR); expected layout DIR/scenarios/ramp/<object>_<NN>/20_01|20_02/<trial>/Kinect_RGB_1.mp4 ' +
  '(e.g. DIR/scenarios/ramp/p_block_10/20_01/05/Kinect_RGB_1.mp4); decoding needs ffmpeg and ffprobe';

/** The first n clips of each split of a Physics 101 data set (quick runs); decoding stays lazy. */
export class ClipSubset implements Dataset {
  readonly name: string;
  readonly obsShape: readonly number[];
  readonly seqLength: number;
  constructor(private readonly ds: Physics101Dataset, private readonly n: Record<Split, number>) {
    this.name = ds.name;
    this.obsShape = ds.obsShape;
    this.seqLength = ds.seqLength;
  }
  size(split: Split): number {
    return Math.min(this.n[split], this.ds.size(split));
  }
  /** The full data set's summary (clips too short or skipped included), then what this subset uses. */
  summary(): string {
    return `${this.ds.summary()}; using the first ${this.size('train')} train and ${this.size('test')} test clips`;
  }
  async *batches(split: Split, o: BatchOptions): AsyncIterable<Batch> {
    for (const idx of batchGroups(this.size(split), o)) {
      const clips = await Promise.all(idx.map((j) => this.ds.loadClip(split, j, o.seed ?? 0)));
      const per = clips[0]!.length;
      const obs = new Float32Array(clips.length * per);
      clips.forEach((c, b) => obs.set(c, b * per));
      yield { obs: tf.tensor(obs, [clips.length, this.seqLength, ...this.obsShape]) };
    }
  }
}

const KEYS = ['root', 'imageSize', 'seqLength', 'frameStep', 'flip', 'seed', 'skipBad', 'prefetch', 'maxTrain', 'maxTest', 'indexCache'];

export const physics101Factory: DatasetFactory = {
  type: 'physics101-ramp',
  description: 'Physics 101 ramp clips at 20° (options: root, imageSize, seqLength, frameStep, flip, seed, skipBad, maxTrain, maxTest, indexCache); needs ffmpeg',
  create: async (o) => {
    const what = "dataset 'physics101-ramp'";
    for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new Error(`${what}: unknown option '${k}' (valid: ${KEYS.join(', ')})`);
    const root = o['root'];
    if (root === undefined || root === '') throw new Error(`physics101: no data given: ${PHYS101_HELP}`);
    if (typeof root !== 'string') throw new Error(`${what}: root must be a folder path, got ${JSON.stringify(root)}`);
    if (!existsSync(root)) throw new Error(`physics101: data folder ${root} does not exist: ${PHYS101_HELP}`);
    for (const k of ['imageSize', 'seqLength', 'frameStep', 'seed', 'prefetch', 'maxTrain', 'maxTest']) {
      const v = o[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'seed' ? -Infinity : 1))) throw new Error(`${what}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (o['flip'] !== undefined && !['none', 'train', 'all'].includes(o['flip'] as string)) throw new Error(`${what}: flip must be 'none', 'train' or 'all', got ${JSON.stringify(o['flip'])}`);
    let ds: Physics101Dataset;
    try {
      ds = await Physics101Dataset.open({
        root,
        imageSize: o['imageSize'] as number | undefined,
        seqLength: o['seqLength'] as number | undefined,
        frameStep: o['frameStep'] as number | undefined,
        flip: o['flip'] as 'none' | 'train' | 'all' | undefined,
        seed: o['seed'] as number | undefined,
        skipBad: o['skipBad'] as boolean | undefined,
        prefetch: o['prefetch'] as number | undefined,
        indexCache: o['indexCache'] as string | undefined,
      });
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(/no ramp folder/.test(m) ? `physics101: ${m}. To get the data: ${PHYS101_HELP}` : m);
    }
    if (ds.size('test') === 0) throw new Error(`physics101: ${root} yields no test clip (${ds.summary()}); it needs at least two usable clips`);
    const maxTrain = o['maxTrain'] as number | undefined;
    const maxTest = o['maxTest'] as number | undefined;
    return maxTrain || maxTest ? new ClipSubset(ds, { train: maxTrain ?? Infinity, test: maxTest ?? Infinity }) : ds;
  },
};

export const physics101Plugin: Plugin = (c) => {
  c.register(TOKENS.DatasetFactory, { useValue: physics101Factory });
};


/** The reference's inner step, one SGD step at lr 1e-4 on its inner loss, in our units. Its loss is
 * the batch mean (batch 2) of a per-example loss that averages over the embedding's dims; ours steps
 * each sequence as if alone (core undoes the batch mean) on a loss summed over the dims. The same
 * step per sequence is therefore lr 1e-4 / (2 · dim). */
const referenceInnerLr = (embeddingDim: number) => 1e-4 / (2 * embeddingDim);

const common = {
  name: 'physics101',
  seed: 1,
  mode: 'noether' as const,
  noether: { form: '2b' as const, tailor: 'cn' as const },
  contextLength: 2,
  horizon: 20,
  teacherForcing: true,
  // The reference's image metrics: MSE, PSNR (range 1, per channel then averaged), SSIM (7×7 uniform
  // window, data range 2). In the config, so `noether eval` of a run scores them as the run did.
  eval: { batchSize: 4, metrics: ['mse', { type: 'psnr', ...PSNR_REFERENCE_CODE }, { type: 'ssim', ...SSIM_REFERENCE_CODE }] },
};

/** The result table: SVG, the Noether model untailored and tailored, and copying the last context frame. */
const physicsTable: ResultTableSpec & Required<Pick<ResultTableSpec, 'references'>> = {
  phases: [
    { phase: 'svg', label: 'SVG', tailors: false },
    { phase: 'noether', label: 'Noether', tailors: true },
  ],
  references: async (exp) => [await persistenceCurves(exp)],
};

/** LPIPS, only with the published weights (never random ones): from NOETHER_LPIPS_WEIGHTS, else skipped with the reason. */
function lpipsMetrics(io: Io): ExtraMetrics {
  const dir = io.env[LPIPS_WEIGHTS_ENV];
  if (!dir) {
    const why = `LPIPS skipped: no weights (${LPIPS_WEIGHTS_ENV} is not set); convert the v0.1 AlexNet weights with packages/metrics/scripts/convert-lpips.py and set ${LPIPS_WEIGHTS_ENV}=<dir> (see packages/metrics/README.md)`;
    return { metrics: [], log: [why], notes: [why], dispose: () => {} };
  }
  let params: Params;
  try {
    params = loadLpipsWeights(dir);
  } catch (e) {
    throw new CliError(`${(e as Error).message} (from ${LPIPS_WEIGHTS_ENV}=${dir})`);
  }
  return { metrics: [lpipsMetric(params)], log: [`LPIPS: weights from ${dir}`], notes: [], dispose: () => disposeParams(params) };
}

export const physics101: BuiltinExperiment = {
  description: 'Fig. 4: Physics 101 ramp videos (--data DIR); SVG vs Noether (CN tailoring); MSE/PSNR/SSIM/LPIPS per frame',
  quickConfig: {
    ...common,
    predictor: { type: 'svg', arch: 'vgg', frameSize: 32, channels: 3, widths: [8, 16, 32], convsPerBlock: [1, 1, 1], gDim: 32, zDim: 8, rnnSize: 32, predictorLayers: 1, priorLayers: 1, posteriorLayers: 1, contextLength: 2 },
    embedding: { type: 'cnn', dim: 16, height: 32, width: 32, channels: 3, filters: [8, 16] },
    inner: { optimizer: 'sgd' as const, steps: 1, lr: referenceInnerLr(16) },
    dataset: { type: 'physics101-ramp', imageSize: 32, seqLength: 22, frameStep: 2, flip: 'train', seed: 1, maxTrain: 16, maxTest: 8 },
    outer: { epochs: 2, batchSize: 2, lrTheta: 1e-3, lrPhi: 1e-3, clipPhi: 1000 },
  },
  fullConfig: {
    ...common,
    predictor: { type: 'svg', arch: 'vgg', frameSize: 128, channels: 3, gDim: 128, zDim: 64, rnnSize: 256, predictorLayers: 2, priorLayers: 1, posteriorLayers: 1, contextLength: 2 },
    embedding: { type: 'cnn', dim: 64, height: 128, width: 128, channels: 3, filters: [32, 64] },
    inner: { optimizer: 'sgd' as const, steps: 1, lr: referenceInnerLr(64) },
    dataset: { type: 'physics101-ramp', imageSize: 128, seqLength: 22, frameStep: 2, flip: 'train', seed: 1 },
    outer: { epochs: 400, batchSize: 2, lrTheta: 1e-4, lrPhi: 1e-4, clipPhi: 1000 },
  },
  plugins: [physics101Plugin],
  resultTable: () => physicsTable,
  extraMetrics: lpipsMetrics,
  async run(ctx) {
    const cfg = ctx.config;
    const extra = lpipsMetrics(ctx.io);
    const notes = [...extra.notes];
    for (const l of extra.log) ctx.log(l);
    try {
      const svgExp = await buildExperiment(ctx.container, { ...cfg, mode: 'baseline' }, 'config (svg phase)');
      // The config's metrics, then LPIPS where its weights are (not a config entry: it needs them).
      const metrics = [...svgExp.metrics, ...extra.metrics];
      svgExp.metrics = metrics;
      const data = (svgExp.dataset as { summary?: () => string }).summary?.() ?? `${svgExp.dataset.size('train')} train, ${svgExp.dataset.size('test')} test clips`;
      ctx.log(`physics101: ${data}`);
      const svg = await ctx.runner.trainPhase('svg', svgExp);
      const evSvg = await ctx.runner.evaluatePhase('svg', svgExp, svg.state);

      const nExp = await buildExperiment(ctx.container, cfg, 'config (noether phase)');
      nExp.metrics = metrics;
      const noe = await ctx.runner.trainPhase('noether', nExp);
      const evN = await ctx.runner.evaluatePhase('noether', nExp, noe.state);

      const models = [...tableModels(physicsTable, { svg: evSvg, noether: evN }), ...(await physicsTable.references(nExp))];
      const first = (cfg.contextLength ?? 2) + 1;
      writeCurves(ctx.runDir, models, { prefix: 'fig4', title: 'Physics 101', firstStep: first });
      await writeFrameGrid(ctx.runDir, [
        { label: 'SVG', exp: svgExp, state: svg.state },
        { label: 'Noether', exp: nExp, state: noe.state },
      ], { name: 'frames', examples: 2, maxFrames: 20, seed: cfg.seed });
      const table = curveRows(models);
      writeRunJson(ctx.runDir, 'video-summary.json', {
        experiment: 'physics101', paperFigure: 4, seed: cfg.seed, firstFrame: first,
        data, trainClips: nExp.dataset.size('train'), testSequences: evN.sequences, meanOverHorizon: table, innerLossBefore: evN.innerBefore, notes,
      });
      disposeMetaState(svg.state);
      disposeMetaState(noe.state);
      ctx.runner.plotLoss();
      return {
        table,
        finalLoss: { svg: svg.finalLoss, noether: noe.finalLoss },
        steps: { svg: svg.steps, noether: noe.steps },
      };
    } finally {
      extra.dispose();
    }
  },
};

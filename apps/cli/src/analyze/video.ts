// Shared by the video experiments (gym-pendulum, physics101) and `noether analyze`:
// per-step metric curves as CSV + PNG, frame grids of ground truth vs predictions,
// and loading a trained phase back from a run directory.
import { join } from 'node:path';
import {
  buildExperiment, disposeBatch, disposeMetaState, evalNoiseSeed, evaluate, frameGrid, initMetaState, persistencePredictor, imageToPng, linePlot, predictTestBatch, tailorEmbedding, tf, tidy,
  type Batch, type DependencyContainer, type EvalResult, type Experiment, type MetaState, type RgbaImage,
} from '@noether/core';
import { CliError } from '../cli/errors.js';
import { validateConfig } from '../run/config.js';
import { writeFileAtomic, writeJsonAtomic } from '../run/fs-atomic.js';
import type { ResultRow, RunDir } from '../run/run-dir.js';

/** One model's per-step curves, as evaluate() returns them (untailored or tailored side). */
export interface ModelCurves {
  model: string;
  curves: EvalResult['tailored'];
}

/** The models of an evaluated phase: its untailored rollout and, when it tailors, the tailored one. */
export function modelsOf(label: string, ev: EvalResult, tailors: boolean, untailoredLabel = `${label} (untailored)`): ModelCurves[] {
  return tailors
    ? [{ model: untailoredLabel, curves: ev.untailored }, { model: `${label} (tailored)`, curves: ev.tailored }]
    : [{ model: label, curves: ev.untailored }];
}

/** The persistence reference (the last context frame, repeated) on an experiment's test split, with
 * its metrics: a video model that does not beat it has not learned the motion. */
export async function persistenceCurves(exp: Experiment, label = 'Copy last frame (reference)'): Promise<ModelCurves> {
  const setup = { ...exp.testSetup, mode: 'baseline' as const, embedding: undefined, tailorMode: undefined, predictor: persistencePredictor(exp.testSetup.contextLength ?? exp.testSetup.predictor.contextLength) };
  const state = initMetaState(setup, {}, {});
  const ev = await evaluate(setup, exp.dataset, state, { batchSize: exp.config.eval.batchSize, seed: exp.config.seed, metrics: exp.metrics, maxBatches: exp.config.eval.maxBatches });
  disposeMetaState(state);
  return { model: label, curves: ev.untailored };
}

/** Result-table rows: per model, each metric averaged over the horizon. */
export function curveRows(models: ModelCurves[]): ResultRow[] {
  return models.map((m) => ({ model: m.model, ...Object.fromEntries(Object.entries(m.curves).map(([k, v]) => [k, v.overall])) }));
}

/**
 * Writes <run>/curves.csv (model, metric, step, mean, stderr — one row per predicted step) and
 * plots/<prefix>-<metric>.png (every model against the step ahead, ± standard error over sequences).
 */
export function writeCurves(runDir: RunDir, models: ModelCurves[], o: { prefix: string; title: string; firstStep?: number; file?: string }): string[] {
  const metrics = [...new Set(models.flatMap((m) => Object.keys(m.curves)))];
  const first = o.firstStep ?? 1;
  const lines = ['model,metric,step,mean,stderr'];
  for (const m of models) {
    for (const k of metrics) {
      const c = m.curves[k];
      if (!c) continue;
      c.mean.forEach((v, i) => lines.push(`"${m.model.replace(/"/g, '""')}",${k},${first + i},${v},${c.stderr[i]}`));
    }
  }
  const csv = join(runDir.path, o.file ?? 'curves.csv');
  writeFileAtomic(csv, lines.join('\n') + '\n');
  const written = [csv];
  for (const k of metrics) {
    const series = models.filter((m) => m.curves[k]).map((m) => {
      const c = m.curves[k]!;
      const se = c.stderr.map((s) => (Number.isFinite(s) ? s : 0));
      return {
        name: m.model,
        x: c.mean.map((_, i) => first + i),
        y: c.mean,
        band: { lo: c.mean.map((v, i) => v - se[i]!), hi: c.mean.map((v, i) => v + se[i]!) },
      };
    });
    written.push(runDir.writePlot(`${o.prefix}-${k}`, imageToPng(linePlot({ title: `${o.title}: ${k} per predicted frame`, xLabel: 'frame', yLabel: k, series }))));
  }
  return written;
}

/** What one row of a frame grid shows: a model (θ, φ, experiment) and which of its rollouts. */
export interface GridModel {
  label: string;
  exp: Experiment;
  state: MetaState;
  /** Also show the untailored rollout (as a row of its own) when the model tailors. */
  untailored?: boolean;
}

/**
 * plots/<name>.png: for the first `examples` sequences of the first test batch, a row of
 * ground-truth frames, then one row per model prediction (same noise for every model;
 * a tailoring model gives an untailored and a tailored row). Returns the row labels, top
 * to bottom (also written to plots/<name>.txt).
 */
export async function writeFrameGrid(runDir: RunDir, models: GridModel[], o: { name: string; examples?: number; maxFrames?: number; seed: number }): Promise<string[]> {
  const ds = models[0]!.exp.dataset;
  let batch: Batch | undefined;
  for await (const b of ds.batches('test', { batchSize: o.examples ?? 2, shuffle: false })) {
    if (!batch) batch = b;
    else tf.dispose([b.obs, b.actions].filter((t) => t) as tf.Tensor[]);
  }
  if (!batch) throw new Error('frame grid: the test split is empty');
  const [H, W, C] = ds.obsShape as [number, number, number];
  const per = H * W * C;
  const B = batch.obs.shape[0]!;
  // byExample[b] = [label, frames][] in display order.
  const byExample: [string, Float32Array[]][][] = Array.from({ length: B }, () => []);
  const pick = (ts: tf.Tensor[], b: number, cols: number) => ts.slice(0, cols).map((t) => Float32Array.from((t.dataSync() as Float32Array).subarray(b * per, (b + 1) * per)));
  try {
    models.forEach((m, mi) => {
      const setup = m.exp.testSetup;
      const embedding = tailorEmbedding(setup);
      // evaluate's prediction of its first test batch (the same noise), so the grid shows what was scored.
      const out = tidy(() => predictTestBatch(setup, m.state, batch!, evalNoiseSeed(o.seed, 0)));
      const cols = Math.min(o.maxFrames ?? out.targets.length, out.targets.length);
      for (let b = 0; b < B; b++) {
        const rows = byExample[b]!;
        if (mi === 0) rows.push([`example ${b + 1}: ground truth`, pick(out.targets, b, cols)]);
        if (!embedding) rows.push([`example ${b + 1}: ${m.label}`, pick(out.untailored, b, cols)]);
        else {
          if (m.untailored !== false) rows.push([`example ${b + 1}: ${m.label} (untailored)`, pick(out.untailored, b, cols)]);
          rows.push([`example ${b + 1}: ${m.label} (tailored)`, pick(out.tailored, b, cols)]);
        }
      }
      tf.dispose([...new Set([...out.targets, ...out.untailored, ...out.tailored, ...out.innerLosses])]);
    });
  } finally {
    disposeBatch(batch);
  }
  const flat = byExample.flat();
  const scale = H <= 32 ? 3 : H <= 64 ? 2 : 1;
  const colLabels = Array.from({ length: Math.max(...flat.map((r) => r[1].length)) }, (_, i) => `t+${i + 1}`);
  runDir.writePlot(o.name, imageToPng(frameGrid(flat.map((r) => r[1]), { height: H, width: W, channels: C, scale, rowLabels: flat.map((r) => r[0]), colLabels })));
  const names = flat.map((r) => r[0]);
  writeFileAtomic(join(runDir.path, 'plots', `${o.name}.txt`), `Rows of ${o.name}.png, top to bottom (columns: predicted frames 1, 2, ...):\n${names.join('\n')}\n`);
  return names;
}

/** Stacks images vertically (white fill where widths differ). */
export function stackImages(imgs: RgbaImage[]): RgbaImage {
  const width = Math.max(...imgs.map((i) => i.width));
  const height = imgs.reduce((s, i) => s + i.height, 0);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  let y0 = 0;
  for (const im of imgs) {
    for (let y = 0; y < im.height; y++) rgba.set(im.rgba.subarray(y * im.width * 4, (y + 1) * im.width * 4), (y0 + y) * width * 4);
    y0 += im.height;
  }
  return { rgba, width, height };
}

/** A phase of a run, rebuilt from its saved config and latest checkpoint. */
export interface LoadedPhase {
  phase: string;
  exp: Experiment;
  state: MetaState;
}

/** Loads a phase's experiment and checkpoint; errors name the run, the phase and the fix. */
export async function loadPhase(runDir: RunDir, container: DependencyContainer, phase: string): Promise<LoadedPhase> {
  const phases = runDir.phases();
  if (!phases.includes(phase)) throw new CliError(`run ${runDir.path} has no checkpoint for phase '${phase}'; phases: ${phases.join(', ') || '(none)'} (choose one with --phase)`);
  const cfg = validateConfig(runDir.readPhaseConfig(phase), join(runDir.path, 'checkpoints', phase, 'config.json'));
  const exp = await buildExperiment(container, cfg);
  const like = exp.initState();
  const loaded = runDir.loadCheckpoint(phase, like);
  disposeMetaState(like);
  if (!loaded) throw new CliError(`run ${runDir.path}: phase '${phase}' has no readable checkpoint`);
  return { phase, exp, state: loaded.state };
}

/** The first phase of `prefer` that the run has, else the first phase whose experiment learns an embedding. */
export function pickPhase(runDir: RunDir, prefer: string[] = ['noether']): string | undefined {
  const phases = runDir.phases();
  for (const p of prefer) if (phases.includes(p)) return p;
  for (const p of phases) {
    const cfg = runDir.readPhaseConfig(p) as { mode?: string; embedding?: unknown };
    if ((cfg.mode ?? 'noether') === 'noether' && cfg.embedding) return p;
  }
  return undefined;
}

/** Writes JSON next to the run's outputs (atomically). */
export function writeRunJson(runDir: RunDir, name: string, value: unknown): string {
  const f = join(runDir.path, name);
  writeJsonAtomic(f, value);
  return f;
}

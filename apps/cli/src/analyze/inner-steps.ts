// Fig. 6: inner (Noether) and outer (task) loss against the number of inner tailoring steps on the
// test split, with plain tailoring (no second-order tracking), e.g. 500 Adam steps at lr 1e-4.
// With `oracle`, tailoring minimises the task loss itself (it sees the ground truth): the most that
// any embedding could gain with these variables, optimiser and steps. If that is nothing, the
// tailored variables do not reach the prediction, and no meta-learned embedding can help.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GradientInnerOptimizer, disposeBatch, evalNoiseSeed, imageToPng, interrupted, linePlot, makeWindow, mseTaskLoss, noetherLoss, tailorable, tf, tidy, unstackTime,
  type InnerOptimizerKind, type Params, type TailorMode,
} from '@noether/core';
import type { RunDir } from '../run/run-dir.js';
import { stackImages, type LoadedPhase } from './video.js';

export interface InnerStepsOptions {
  steps: number;
  optimizer: InnerOptimizerKind;
  lr: number;
  /** Test batches to average over (default 1). */
  maxBatches: number;
  /** Batch size (default: the run's eval batch size). */
  batchSize?: number;
  /** Tailor on the task loss against the ground truth instead of the Noether loss. */
  oracle?: boolean;
  /** Tailored variables (default: the run's). */
  tailor?: TailorMode;
  log?: (line: string) => void;
  /** Ctrl-C: stop within an inner step or so, writing nothing (AnalysisInterrupted). */
  signal?: AbortSignal;
}

/** Ctrl-C stopped an analysis (`where`: how far it got) before it wrote anything. */
export class AnalysisInterrupted extends Error {
  constructor(analysis: string, where: string) {
    super(`${analysis}: interrupted ${where}; nothing written`);
    this.name = 'AnalysisInterrupted';
  }
}

export interface InnerStepsResult {
  /** Mean over test sequences of the inner and outer loss after k steps, k = 0..steps. */
  inner: number[];
  outer: number[];
  sequences: number;
  files: string[];
  /** The settings in the combined plot (plots/inner-steps.png), this one included. */
  settings: string[];
  /** CSVs left out of the combined plot, with the reason. */
  skipped: string[];
}

export async function innerSteps(runDir: RunDir, loaded: LoadedPhase, o: InnerStepsOptions): Promise<InnerStepsResult> {
  const { exp, state } = loaded;
  const setup = exp.testSetup;
  const emb = exp.embedding;
  if (!o.oracle && (!emb || exp.config.mode === 'baseline')) throw new Error(`phase '${loaded.phase}' does not tailor (mode '${exp.config.mode}'): analyse a Noether phase (--phase), or tailor on the true loss (--oracle)`);
  const inner = new Array<number>(o.steps + 1).fill(0);
  const outer = new Array<number>(o.steps + 1).fill(0);
  let n = 0;
  let nb = 0;
  const every = Math.max(1, Math.floor(o.steps / 10));
  for await (const batch of exp.dataset.batches('test', { batchSize: o.batchSize ?? exp.config.eval.batchSize, shuffle: false })) {
    if (nb >= o.maxBatches) {
      disposeBatch(batch);
      continue;
    }
    const B = batch.obs.shape[0]!;
    // The task loss of each rollout the inner loss sees, kept out of the optimiser's cleanup (and so
    // out of this scope's: freed in its finally).
    let task: tf.Scalar | undefined;
    tf.engine().startScope();
    try {
      const w = makeWindow(setup.predictor, batch, {
        contextLength: setup.contextLength ?? setup.predictor.contextLength,
        horizon: setup.horizon,
        noiseSeed: evalNoiseSeed(exp.config.seed, nb), // evaluate's noise for this batch: its numbers at --steps = the run's
      });
      const { vars: v0, run, perExample } = tailorable(
        { predictor: setup.predictor, theta: state.theta, embedding: emb, phi: state.phi, inner: setup.inner, form: setup.form, mode: o.tailor ?? setup.tailorMode },
        w.seq,
      );
      const context = unstackTime(w.seq.context);
      const loss = (v: Params) => {
        const preds = run(v).preds;
        task?.dispose();
        task = tf.keep(mseTaskLoss(preds, w.targets));
        return o.oracle ? task.clone() : noetherLoss(emb!, state.phi, context, preds, setup.form);
      };
      let at = 0;
      const record = (k: number, value: tf.Scalar) => {
        at = k;
        const iv = value.dataSync()[0]!;
        const ov = task!.dataSync()[0]!;
        if (!Number.isFinite(iv) || !Number.isFinite(ov)) throw new Error(`inner-steps: non-finite loss at step ${k} (inner ${iv}, outer ${ov}): lower --lr`);
        inner[k]! += iv * B;
        outer[k]! += ov * B;
        if (nb === 0 && (k % every === 0 || k === o.steps)) o.log?.(`[inner-steps] batch ${nb + 1} step ${k}/${o.steps}: inner ${iv.toExponential(4)}  outer ${ov.toExponential(4)}`);
      };
      // Plain tailoring (nothing to differentiate through), then the loss after the last step. Thousands
      // of steps on one batch take minutes, so the loop itself lets a Ctrl-C in between its steps.
      const opt = new GradientInnerOptimizer({ kind: o.optimizer, steps: o.steps, lr: o.lr });
      const r = await opt.minimizeInterruptibly(loss, v0, { perExample, onStep: record }, o.signal);
      if (!r) throw new AnalysisInterrupted('inner-steps', `at inner step ${at + 1}`);
      tf.dispose(r.losses);
      record(o.steps, tidy(() => loss(r.vars)));
    } finally {
      task?.dispose();
      tf.engine().endScope();
      disposeBatch(batch);
    }
    n += B;
    nb++;
  }
  if (!n) throw new Error('inner-steps: the test split is empty');
  // A Ctrl-C after the last check of the inner loop still stops the analysis before it writes.
  if (await interrupted(o.signal)) throw new AnalysisInterrupted('inner-steps', `after ${nb} test batch${nb === 1 ? '' : 'es'}`);
  for (let k = 0; k <= o.steps; k++) {
    inner[k]! /= n;
    outer[k]! /= n;
  }
  const tailor = o.tailor ?? setup.tailorMode ?? setup.predictor.tailor;
  const setting: InnerStepsSetting = { phase: loaded.phase, optimizer: o.optimizer, lr: o.lr, tailor, oracle: Boolean(o.oracle) };
  const name = innerStepsName(setting);
  const files: string[] = [];
  // Each row says how it was made, so a file still says what it is when copied out of the run.
  const how = `${setting.phase},${setting.optimizer},${setting.lr},${setting.tailor},${setting.oracle},${n}`;
  files.push(runDir.writeAnalysis(`${name}.csv`, [CSV_HEADER, ...inner.map((v, k) => `${k},${v},${outer[k]},${how}`)].join('\n') + '\n'));
  const x = inner.map((_, k) => k);
  // Titles short enough for the plot's width: the settings are split over the two panels.
  const img = stackImages([
    linePlot({
      title: `${o.oracle ? 'oracle inner loss (task loss)' : 'inner loss'}, ${o.steps} ${o.optimizer} steps, lr ${o.lr}`,
      xLabel: 'inner steps', yLabel: 'inner loss', width: PLOT_WIDTH, series: [{ name: 'inner loss', x, y: inner }],
    }),
    linePlot({
      title: `outer (task) loss, phase '${loaded.phase}', tailoring '${tailor}', ${n} seqs`,
      xLabel: 'inner steps', yLabel: 'sum over t of MSE', width: PLOT_WIDTH, series: [{ name: 'outer loss', x, y: outer, color: [0.839, 0.153, 0.157] }],
    }),
  ]);
  files.push(runDir.writePlot(name, imageToPng(img)));
  const all = combinedPlot(runDir);
  files.push(all.file);
  return { inner, outer, sequences: n, files, settings: all.settings, skipped: all.skipped };
}

/** What an inner-steps curve was made with; the settings that name its files. */
export interface InnerStepsSetting {
  phase: string;
  optimizer: string;
  lr: number;
  tailor: string;
  oracle: boolean;
}

const PLOT_WIDTH = 760;

const CSV_HEADER = 'step,inner_loss,outer_loss,phase,optimizer,lr,tailor,oracle,sequences';

/**
 * The files' name for a setting, inner-steps-<phase>-<optimizer>-lr<lr>-<tailor>[-oracle]: another
 * setting gets files of its own (the Fig. 6 comparison needs several), the same setting run again
 * replaces its own. lr as JavaScript prints it (1e-4 → 0.0001, 1e-7 → 1e-7): the same number, the same name.
 */
export function innerStepsName(s: InnerStepsSetting): string {
  // A phase is a folder name under checkpoints/; keep the file name plain all the same.
  const phase = s.phase.replace(/[^A-Za-z0-9._-]/g, '_');
  return `inner-steps-${phase}-${s.optimizer}-lr${s.lr}-${s.tailor}${s.oracle ? '-oracle' : ''}`;
}

/** A setting's curve read back from its CSV. */
interface Curve {
  setting: InnerStepsSetting;
  sequences: number;
  inner: number[];
  outer: number[];
}

/** Reads analysis/inner-steps-*.csv written in this format (files of an older noether, without the
 * oracle column, are not read); a file that does not parse is skipped with the reason. */
function readCurves(runDir: RunDir): { curves: Curve[]; skipped: string[] } {
  const dir = join(runDir.path, 'analysis');
  const curves: Curve[] = [];
  const skipped: string[] = [];
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => /^inner-steps-.+\.csv$/.test(f)).sort() : [];
  for (const f of names) {
    const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
    if (lines[0] !== CSV_HEADER) continue;
    const rows = lines.slice(1).map((l) => l.split(','));
    const first = rows[0];
    const ok = first && rows.every((r, k) => r.length === 9 && Number(r[0]) === k && r.slice(3).join(',') === first.slice(3).join(','));
    const inner = rows.map((r) => Number(r[1]));
    const outer = rows.map((r) => Number(r[2]));
    if (!ok || ![...inner, ...outer].every(Number.isFinite)) {
      skipped.push(`${join(dir, f)}: not an inner-steps curve of steps 0, 1, ... with one setting (delete it, or run the analysis of that setting again)`);
      continue;
    }
    const [phase, optimizer, lr, tailor, oracle, sequences] = first.slice(3) as [string, string, string, string, string, string];
    curves.push({ setting: { phase, optimizer, lr: Number(lr), tailor, oracle: oracle === 'true' }, sequences: Number(sequences), inner, outer });
  }
  return { curves, skipped };
}

/** plots/inner-steps.png: every setting analysed in this run so far, inner loss above, outer loss
 * below, one curve per setting (paper, Fig. 6: Adam and SGD on one plot). */
function combinedPlot(runDir: RunDir): { file: string; settings: string[]; skipped: string[] } {
  const { curves, skipped } = readCurves(runDir);
  // The number of test sequences goes in the legend only where the settings differ in it.
  const sameN = new Set(curves.map((c) => c.sequences)).size === 1;
  const label = (c: Curve) =>
    `${c.setting.phase} ${c.setting.optimizer} lr ${c.setting.lr} ${c.setting.tailor}${c.setting.oracle ? ' oracle' : ''}${sameN ? '' : ` (${c.sequences} seqs)`}`;
  const series = (pick: (c: Curve) => number[]) => curves.map((c) => ({ name: label(c), x: pick(c).map((_, k) => k), y: pick(c) }));
  const logY = (s: { y: number[] }[]) => s.every((x) => x.y.every((v) => v > 0));
  const inner = series((c) => c.inner);
  const outer = series((c) => c.outer);
  const seqs = sameN ? `, ${curves[0]!.sequences} test seqs` : '';
  const img = stackImages([
    linePlot({ title: 'inner loss (with --oracle: the task loss)', xLabel: 'inner steps', yLabel: 'inner loss', width: PLOT_WIDTH, logY: logY(inner), series: inner }),
    linePlot({ title: `outer (task) loss of the tailored prediction${seqs}`, xLabel: 'inner steps', yLabel: 'sum over t of MSE', width: PLOT_WIDTH, logY: logY(outer), series: outer }),
  ]);
  return { file: runDir.writePlot('inner-steps', imageToPng(img)), settings: curves.map(label), skipped };
}

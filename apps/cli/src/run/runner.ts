// Runs training phases inside a run directory: checkpoints every N steps (and on Ctrl-C),
// resumes from the last checkpoint, logs metrics.csv, shows progress, and turns a
// NaN/Inf into a NonFiniteStop that keeps the last good checkpoint.
import {
  NonFiniteError, disposeMetaState, evaluate, imageToPng, linePlot, testInnerConfig, train,
  type EvalResult, type Experiment, type MetaState,
} from '@noether/core';
import { curveRows } from '../analyze/video.js';
import type { Io } from '../cli/io.js';
import { tableModels, type ResultTableSpec } from '../experiments/table.js';
import { Progress } from './progress.js';
import type { ResultRow, RunDir } from './run-dir.js';

/** Ctrl-C during training: a checkpoint was written at `step`. */
export class Interrupted extends Error {
  constructor(readonly phase: string, readonly step: number) {
    super(`interrupted during ${phase} at step ${step}; checkpoint written`);
    this.name = 'Interrupted';
  }
}

/** NaN/Inf stopped training; the last good checkpoint (step `keptStep`) is kept. */
export class NonFiniteStop extends Error {
  constructor(readonly phase: string, override readonly cause: NonFiniteError, readonly keptStep: number | undefined) {
    super(
      `training stopped: non-finite value in ${cause.where} at step ${cause.step} (phase ${phase}); ` +
        `lower the learning rates (e.g. --set outer.lrTheta=1e-4) or set outer.clipTheta / outer.clipPhi; ` +
        (keptStep !== undefined ? `the last good checkpoint (step ${keptStep}) is kept` : 'no checkpoint had been written yet'),
    );
    this.name = 'NonFiniteStop';
  }
}

export interface PhaseResult {
  state: MetaState;
  finalLoss: number;
  steps: number;
  /** Steps run by this process (0 when the phase was already complete). */
  ranSteps: number;
}

export interface RunnerOptions {
  /** Checkpoint every this many steps (0: only at the end of a phase and on Ctrl-C). */
  checkpointEvery: number;
  progress: boolean;
  /** A phase's evaluation replaces its earlier rows in metrics.csv (a run re-evaluating its finished
   * phases on resume) rather than adding to them (`noether eval`, whose rows are a record of their own). */
  replaceEvalRows?: boolean;
  /** The experiment's result table: the rows of a run that stops early (result.json) are named as
   * the finished run's would be. Without it, rows are named by phase. */
  table?: ResultTableSpec;
}

export class Runner {
  private readonly progress: Progress;
  private readonly t0 = Date.now();
  /** What the phases finished so far produced, for result.json when a later phase stops the run
   * (Ctrl-C, a non-finite loss): rows (named by opts.table, else by phase), final losses and steps. */
  readonly partial = { table: [] as ResultRow[], finalLoss: {} as Record<string, number>, steps: {} as Record<string, number> };

  constructor(
    private readonly io: Io,
    readonly runDir: RunDir,
    private readonly signal: AbortSignal,
    private readonly opts: RunnerOptions,
  ) {
    this.progress = new Progress(io, opts.progress);
  }

  log(line: string): void {
    this.progress.done();
    this.io.err(line + '\n');
  }

  /**
   * Trains one phase to completion, or resumes it from its last checkpoint.
   * `init` may replace parts of the fresh state (e.g. θ from an earlier phase); it owns `fresh`.
   */
  async trainPhase(phase: string, exp: Experiment, init?: (fresh: MetaState) => MetaState): Promise<PhaseResult> {
    const cfg = exp.config;
    this.runDir.savePhaseConfig(phase, cfg);
    const like = exp.initState();
    const loaded = this.runDir.loadCheckpoint(phase, like);
    let state: MetaState;
    if (loaded) {
      disposeMetaState(like);
      state = loaded.state;
      if (loaded.pointer.done) {
        const finalLoss = this.lastLoss(phase, state.step);
        this.log(`[${phase}] already complete (step ${state.step}), loaded from checkpoint`);
        this.finished(phase, finalLoss, state.step);
        return { state, finalLoss, steps: state.step, ranSteps: 0 };
      }
      this.runDir.truncateMetrics(phase, state.step);
      this.log(`[${phase}] resuming from checkpoint at step ${state.step}`);
    } else {
      state = init ? init(like) : like;
    }
    let lastSaved: number | undefined = loaded?.pointer.step;
    let lastLoss = NaN;
    let current = state;
    const epochs = cfg.outer.epochs;
    // φ that gets exactly no meta-gradient learns nothing, and tailoring then stays as it started:
    // a dead embedding (every ReLU off on the data) or one tailoring never reaches. Said once, early.
    const watchPhi = exp.setup.mode === 'noether' && cfg.outer.lrPhi > 0 && Object.keys(state.phi).length > 0;
    let phiSilent = 0;
    this.progress.start();
    let res;
    try {
      res = await train(exp.setup, exp.dataset, state, {
        epochs,
        batchSize: cfg.outer.batchSize,
        seed: cfg.seed,
        signal: this.signal,
        onStep: (r) => {
          current = r.state;
          lastLoss = r.loss;
          if (watchPhi && phiSilent >= 0) {
            phiSilent = r.gradNormPhi === 0 ? phiSilent + 1 : -1;
            if (phiSilent === Math.min(10, Math.ceil(r.totalSteps / epochs))) {
              phiSilent = -1;
              this.log(`[${phase}] note: φ's meta-gradient has been exactly 0 for the first steps, so the embedding learns nothing and tailoring stays as it started: on this data its Noether loss does not depend on φ (every ReLU off: try another seed or init; a formula constant in its parameters)`);
            }
          }
          this.runDir.appendMetrics([
            { kind: 'train', phase, step: r.step, epoch: r.epoch, loss: r.loss, grad_norm_theta: r.gradNormTheta, grad_norm_phi: r.gradNormPhi, elapsed_s: this.elapsed() },
          ]);
          this.progress.update({ phase, step: r.step, totalSteps: r.totalSteps, epoch: r.epoch, epochs, loss: r.loss, gradNormTheta: r.gradNormTheta, gradNormPhi: r.gradNormPhi });
          if (this.opts.checkpointEvery > 0 && r.step % this.opts.checkpointEvery === 0 && r.step < r.totalSteps) {
            this.runDir.saveCheckpoint(phase, r.state);
            lastSaved = r.step;
          }
        },
      });
    } catch (e) {
      this.progress.done();
      if (e instanceof NonFiniteError) {
        disposeMetaState(current);
        throw new NonFiniteStop(phase, e, lastSaved);
      }
      throw e;
    }
    this.progress.done();
    if (res.stopped) {
      this.runDir.saveCheckpoint(phase, res.state);
      const step = res.state.step;
      disposeMetaState(res.state);
      throw new Interrupted(phase, step);
    }
    this.runDir.saveCheckpoint(phase, res.state, true);
    const finalLoss = Number.isNaN(lastLoss) ? this.lastLoss(phase, res.state.step) : lastLoss;
    this.finished(phase, finalLoss, res.state.step);
    return { state: res.state, finalLoss, steps: res.state.step, ranSteps: res.losses.length };
  }

  private finished(phase: string, finalLoss: number, steps: number): void {
    this.partial.finalLoss[phase] = finalLoss;
    this.partial.steps[phase] = steps;
  }

  /** Evaluates untailored and tailored predictions on the test split; logs eval rows and a plot per metric. */
  async evaluatePhase(phase: string, exp: Experiment, state: MetaState): Promise<EvalResult> {
    const cfg = exp.config;
    const ev = await evaluate(exp.testSetup, exp.dataset, state, {
      batchSize: cfg.eval.batchSize,
      seed: cfg.seed,
      metrics: exp.metrics,
      maxBatches: cfg.eval.maxBatches,
    });
    const rows = Object.keys(ev.tailored).map((m) => ({
      kind: 'eval', phase, step: state.step, metric: m, untailored: ev.untailored[m]!.overall, tailored: ev.tailored[m]!.overall, elapsed_s: this.elapsed(),
    }));
    // Test-time tailoring can diverge where training's one step did not (more steps, a larger lr).
    for (const m of Object.keys(ev.tailored)) {
      const [u, t] = [ev.untailored[m]!.overall, ev.tailored[m]!.overall];
      if (Number.isFinite(u) && !Number.isFinite(t)) {
        const inner = testInnerConfig(cfg);
        this.log(`[${phase}] note: the tailored ${m} is ${t}: test-time tailoring diverged (${inner.optimizer}, ${inner.steps} step(s) at lr ${inner.lr}); lower testInner.lr or testInner.steps`);
      }
    }
    if (this.opts.replaceEvalRows) this.runDir.truncateMetrics(phase, Infinity);
    this.runDir.appendMetrics(rows);
    this.partial.table.push(...phaseRows(this.opts.table, phase, phase, exp.setup.mode, ev));
    for (const m of Object.keys(ev.tailored)) {
      const series = (label: string, c: { mean: number[]; stderr: number[] }) => ({
        name: label,
        x: c.mean.map((_, i) => i + 1),
        y: c.mean,
        band: { lo: c.mean.map((v, i) => v - c.stderr[i]!), hi: c.mean.map((v, i) => v + c.stderr[i]!) },
      });
      const img = linePlot({
        title: `${phase}: ${m} per predicted step`,
        xLabel: 'step ahead',
        yLabel: m,
        series: exp.setup.mode === 'baseline' ? [series('untailored', ev.untailored[m]!)] : [series('untailored', ev.untailored[m]!), series('tailored', ev.tailored[m]!)],
      });
      this.runDir.writePlot(`eval-${phase}-${m}`, imageToPng(img));
    }
    return ev;
  }

  /** plots/loss.png: the training loss of every phase so far. */
  plotLoss(): void {
    const rows = this.runDir.readMetrics().filter((r) => r.kind === 'train');
    const phases = [...new Set(rows.map((r) => String(r.phase)))];
    if (!rows.length) return;
    const series = phases.map((p) => {
      const rs = rows.filter((r) => r.phase === p);
      return { name: p, x: rs.map((r) => Number(r.step)), y: rs.map((r) => Number(r.loss)) };
    });
    const positive = series.every((s) => s.y.every((v) => v > 0));
    this.runDir.writePlot('loss', imageToPng(linePlot({ title: 'training loss', xLabel: 'step', yLabel: 'loss', logY: positive, series })));
  }

  private lastLoss(phase: string, step: number): number {
    const r = this.runDir.readMetrics().find((x) => x.kind === 'train' && x.phase === phase && Number(x.step) === step);
    return r ? Number(r.loss) : NaN;
  }

  private elapsed(): number {
    return Math.round((Date.now() - this.t0) / 10) / 100;
  }
}

/** A phase's rows as the experiment's table names them when it names the phase, else as tableRows
 * does under `label` (a run stopped early, and `noether eval`, use it). */
export function phaseRows(table: ResultTableSpec | undefined, phase: string, label: string, mode: string, ev: EvalResult): ResultRow[] {
  return table?.phases.some((p) => p.phase === phase) ? curveRows(tableModels(table, { [phase]: ev })) : tableRows(label, mode, ev);
}

/** Result-table rows for one evaluated phase: the untailored model, and the tailored one unless baseline. */
export function tableRows(label: string, mode: string, ev: EvalResult): ResultRow[] {
  const pick = (c: EvalResult['tailored']) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.overall]));
  const rows: ResultRow[] = [{ model: mode === 'baseline' ? label : `${label} (untailored)`, ...pick(ev.untailored) }];
  if (mode !== 'baseline') rows.push({ model: `${label} (tailored)`, ...pick(ev.tailored) });
  return rows;
}

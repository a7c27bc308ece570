// What `experiment` and `train` share: resolving the config (defaults, --config, --set,
// dedicated flags), creating or resuming the run directory, running the experiment,
// mapping interrupts and NaN stops to exit codes, and printing the result table.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NonFiniteError, buildExperiment, disposeMetaState, metaStep, tf, type Experiment, type ExperimentConfig, type MetaState, type Plugin } from '@noether/core';
import type { FlagSpec } from '../cli/args.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { experiments, type BuiltinExperiment } from '../experiments/index.js';
import { applySets, mergeConfig, readConfigFile, validateConfig } from '../run/config.js';
import { cliContainer } from '../run/container.js';
import { RunDir, timestamp, type ResultRow } from '../run/run-dir.js';
import { Interrupted, NonFiniteStop, Runner, tableRows } from '../run/runner.js';
import { PLUGIN_FLAG, pluginsFor } from '../run/user-plugins.js';
import { staleTailoringNote } from '../run/stale-tailoring.js';
import type { CommandContext } from './types.js';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'config', short: 'c', type: 'string', valueName: 'FILE', description: 'config file (JSON or YAML), validated against the experiment schema' },
  { name: 'set', type: 'list', valueName: 'FIELD=VALUE', description: 'override a config field, e.g. --set outer.lrPhi=1e-3' },
  { name: 'seed', type: 'int', valueName: 'N', description: 'random seed (config field seed)' },
  { name: 'epochs', type: 'int', valueName: 'N', description: 'outer epochs (config field outer.epochs)' },
  { name: 'name', type: 'string', valueName: 'NAME', description: 'run name (config field name; default run directory runs/<name>-<timestamp>)' },
  { name: 'out', short: 'o', type: 'string', valueName: 'DIR', description: 'run directory to create' },
  { name: 'resume', type: 'string', valueName: 'RUN', description: 'continue the run in directory RUN from its last checkpoint' },
  { name: 'checkpoint-every', type: 'int', min: 0, valueName: 'N', description: 'write a checkpoint every N steps (default 10; 0 = only at the end and on Ctrl-C)' },
  { name: 'no-progress', type: 'boolean', description: 'no progress output (results and errors only)' },
  PLUGIN_FLAG,
];

/** A single-phase experiment for `noether train --config FILE`: train the config's mode, evaluate. */
export const configExperiment: BuiltinExperiment = {
  description: 'train the model a config describes (single phase), then evaluate it',
  quickConfig: {} as never,
  fullConfig: {} as never,
  async run(ctx) {
    const exp = await buildExperiment(ctx.container, ctx.config);
    const r = await ctx.runner.trainPhase('train', exp);
    const ev = await ctx.runner.evaluatePhase('train', exp, r.state);
    disposeMetaState(r.state);
    ctx.runner.plotLoss();
    return { table: tableRows(ctx.config.name, ctx.config.mode, ev), finalLoss: { train: r.finalLoss }, steps: { train: r.steps } };
  },
};

/** One meta-step of `state` (fresh, and consumed here) on the first training sequence, everything
 * it makes freed. It predicts one step (a video model's full horizon would cost seconds), unless the
 * configured window does not fit the sequence, which the full window then reports. */
async function firstStep(exp: Experiment, state: MetaState): Promise<void> {
  const made: tf.Tensor[] = [];
  let stepped: MetaState | undefined; // metaStep disposes the state it steps, and returns the next
  try {
    const it = exp.dataset.batches('train', { batchSize: 1, shuffle: false })[Symbol.asyncIterator]();
    const first = await it.next();
    await it.return?.();
    if (first.done) return; // an empty split: training says so
    let batch = first.value;
    made.push(batch.obs, ...(batch.actions ? [batch.actions] : []));
    let setup = exp.setup;
    const T = batch.obs.shape[1]!;
    const C = setup.contextLength ?? setup.predictor.contextLength;
    const H = setup.horizon ?? T - C;
    if (H > 1 && C + H <= T) {
      const cut = (t: tf.Tensor) => {
        const c = tf.slice(t, [0, 0], [-1, C + 1]);
        made.push(c);
        return c;
      };
      batch = { ...batch, obs: cut(batch.obs), ...(batch.actions ? { actions: cut(batch.actions) } : {}) };
      setup = { ...setup, horizon: 1 };
    }
    stepped = metaStep(setup, state, batch, 0).state;
  } finally {
    disposeMetaState(stepped ?? state);
    tf.dispose(made);
  }
}

export function allPlugins(): Plugin[] {
  return Object.values(experiments).flatMap((e) => e.plugins ?? []);
}

/** The validated config of a new run: the experiment's built-in config (quick or full; none for
 * `train`), then --config, --set and the --seed/--epochs/--name shorthands. `experiment
 * --print-config` shows exactly this, so what it prints is what the run would use. */
export function newRunConfig(ctx: CommandContext, expName: string | undefined, quick: boolean): ExperimentConfig {
  const base = expName ? (quick ? experiments[expName]!.quickConfig : experiments[expName]!.fullConfig) : undefined;
  const { raw, source } = resolveConfig(ctx, base as Record<string, unknown> | undefined);
  return validateConfig(raw, source);
}

function resolveConfig(ctx: CommandContext, baseConfig: Record<string, unknown> | undefined): { raw: Record<string, unknown>; source: string } {
  const f = ctx.flags;
  let raw: Record<string, unknown>;
  let source: string;
  if (typeof f['config'] === 'string') {
    const path = resolvePath(ctx.io, f['config']);
    raw = mergeConfig(baseConfig ?? {}, readConfigFile(path));
    source = String(f['config']);
  } else if (baseConfig) {
    raw = structuredClone(baseConfig);
    source = 'built-in config';
  } else {
    throw new UsageError('no config: give --config FILE (JSON or YAML), or run a built-in experiment with noether experiment NAME');
  }
  const sets = [...((f['set'] as string[] | undefined) ?? [])];
  if (f['seed'] !== undefined) sets.push(`seed=${f['seed']}`);
  if (f['epochs'] !== undefined) sets.push(`outer.epochs=${f['epochs']}`);
  if (f['name'] !== undefined) sets.push(`name=${JSON.stringify(f['name'])}`);
  raw = applySets(raw, sets);
  if (sets.length) source += ` with ${sets.map((s) => `--set ${s}`).join(' ')}`;
  return { raw, source };
}

/** A run name becomes a folder name (runs/<name>-<time>): it must not lead elsewhere. */
function checkRunName(name: string, source: string): void {
  if (/[/\\]/.test(name) || name.includes('..')) {
    throw new UsageError(`${source} '${name}': a run name must not contain path separators or '..' (it names the folder runs/<name>-<time>); use --out DIR to choose the folder`);
  }
}

function uniqueDir(path: string): string {
  if (!existsSync(path)) return path;
  for (let i = 2; ; i++) if (!existsSync(`${path}-${i}`)) return `${path}-${i}`;
}

function formatCell(v: string | number): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v); // steps, counts: 80, not 80.00
    return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
  }
  return v;
}

/** A plain aligned text table. */
export function formatTable(rows: ResultRow[]): string {
  if (!rows.length) return '(no results)\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = [cols, ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : formatCell(r[c]!))))];
  const w = cols.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}

export interface RunRequest {
  /** Experiment name (undefined: the config experiment of `train`). */
  experimentName?: string;
  command: string;
  quick?: boolean;
}

/** Creates (or resumes) a run directory and runs the experiment in it; returns the exit code. */
export async function executeRun(ctx: CommandContext, req: RunRequest): Promise<number> {
  const f = ctx.flags;
  let runDir: RunDir;
  let expName = req.experimentName;
  let config: ExperimentConfig;
  const resume = f['resume'];
  if (typeof f['name'] === 'string') checkRunName(f['name'], '--name');
  if (typeof resume === 'string') {
    for (const k of ['config', 'set', 'seed', 'epochs', 'name', 'out', 'quick']) {
      if (f[k] !== undefined) throw new UsageError(`--${k} cannot be combined with --resume: a resumed run keeps its own config.json`);
    }
    runDir = RunDir.open(resolvePath(ctx.io, resume));
    if (expName !== undefined && runDir.meta.experiment !== expName) {
      throw new UsageError(`${resume} is a run of ${runDir.meta.experiment ? `experiment '${runDir.meta.experiment}'` : "'noether train'"}, not '${expName}': resume it with the command that started it`);
    }
    expName = runDir.meta.experiment;
    config = validateConfig(runDir.readConfig(), join(runDir.path, 'config.json'));
  } else {
    config = newRunConfig(ctx, expName, Boolean(req.quick));
  }
  const experiment = expName ? experiments[expName] : configExperiment;
  if (!experiment) throw new CliError(`${runDir!.path} names experiment '${expName}', which this noether does not have`);
  // Where the new run goes, checked before the backend starts or anything is built.
  let out: string | undefined;
  if (typeof resume !== 'string') {
    if (typeof f['out'] !== 'string') checkRunName(config.name, 'config field name');
    out = typeof f['out'] === 'string' ? resolvePath(ctx.io, f['out']) : uniqueDir(resolvePath(ctx.io, join('runs', `${config.name}-${timestamp()}`)));
    RunDir.checkNew(out);
  }

  const resumed = typeof resume === 'string' ? runDir! : undefined;
  const user = await pluginsFor(ctx.io, f['plugin'] as string[] | undefined, resumed?.meta.plugins, resumed?.path);
  const backend = await ctx.backend();
  const container = cliContainer(...allPlugins(), ...user.plugins);
  // Build once before creating anything, so a config naming an unknown type or a bad
  // plugin option fails here as bad input (exit 2), not halfway through a run.
  let probe: Experiment;
  let fresh: MetaState;
  try {
    probe = await buildExperiment(container, config);
    const stale = resumed && staleTailoringNote(resumed, probe);
    if (stale) ctx.log(stale);
    fresh = probe.initState();
  } catch (e) {
    // A data file the config names is bad: the file is what to fix, and its error says where.
    if ((e as Error).name === 'DataFileError') throw new CliError(String((e as Error).message).split('\n')[0]!);
    throw new CliError(`invalid config: ${String((e as Error).message).split('\n')[0]} (fix the config file or --set value)`);
  }
  // …and take one meta-step on one sequence: parts that build but do not fit together (a state size
  // the data lacks, an embedding's arity or inputs, 'oracle' with an embedding that has parameters)
  // fail only when they meet, which would otherwise be at the first step, in a half-made run.
  try {
    await firstStep(probe, fresh);
  } catch (e) {
    if (e instanceof NonFiniteError) {
      // Not the config's shape: training meets it too, and stops as it does on any NaN (exit 3).
    } else {
      const parts = [`predictor '${config.predictor.type}'`, config.embedding && `embedding '${config.embedding.type}'`, `dataset '${config.dataset.type}'`].filter(Boolean).join(', ');
      throw new CliError(`invalid config: its parts do not work together (${parts}, mode '${config.mode}'): a first training step fails with: ${String((e as Error).message).split('\n')[0]} (fix the config file or --set value)`);
    }
  }

  if (out !== undefined) {
    runDir = RunDir.create(out, config, {
      name: config.name,
      experiment: expName,
      seed: config.seed,
      backend: backend.name,
      command: [...ctx.argv], // as given: --set values, --epochs, --out… all shape the run
      ...(user.resolved.length ? { plugins: user.resolved } : {}),
    });
    ctx.log(`run directory: ${runDir.path}`);
  } else {
    const fromStep = Object.fromEntries(runDir!.phases().map((p) => [p, runDir!.latest(p)?.step ?? 0]));
    // meta.backend is where the run started; each resume records its own, so a run trained partly on
    // another backend (whose numbers differ slightly) says so.
    const before = runDir!.meta.resumes.at(-1)?.backend ?? runDir!.meta.backend;
    runDir!.meta.resumes.push({ at: new Date().toISOString(), fromStep, backend: backend.name });
    if (user.resolved.length) runDir!.meta.plugins = user.resolved; // --plugin FILE: it moved
    if (before !== backend.name) ctx.log(`note: run last ran on backend ${before}, resuming on ${backend.name} (numbers may differ slightly; meta.json records the backend of each resume)`);
    runDir!.saveMeta();
    ctx.log(`resuming run ${runDir!.path}`);
  }
  const rd = runDir!;
  const every = f['checkpoint-every'] === undefined ? 10 : Number(f['checkpoint-every']);
  const runner = new Runner(ctx.io, rd, ctx.signal, { checkpointEvery: every, progress: !f['no-progress'], replaceEvalRows: true, table: experiment.resultTable?.(config) });
  const resumeHint = `noether ${req.command} --resume ${rd.path}`;
  try {
    const outcome = await experiment.run({ io: ctx.io, config, runDir: rd, container, runner, quick: Boolean(req.quick), log: (l) => runner.log(l) });
    rd.writeResult({ status: 'completed', finishedAt: new Date().toISOString(), ...outcome });
    ctx.io.out(formatTable(outcome.table));
    ctx.log(`results, metrics.csv, checkpoints and plots are in ${rd.path}`);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof Interrupted) {
      // The phases that finished keep their results; the stopped one its step.
      const { table, finalLoss, steps } = runner.partial;
      rd.writeResult({ status: 'interrupted', message: e.message, finishedAt: new Date().toISOString(), finalLoss, steps: { ...steps, [e.phase]: e.step }, table });
      runner.log(`interrupted: checkpoint written at step ${e.step} (${e.phase}); continue with: ${resumeHint}`);
      return EXIT.INTERRUPTED;
    }
    if (e instanceof NonFiniteStop) {
      rd.writeResult({ status: 'non-finite', message: e.message, finishedAt: new Date().toISOString(), ...runner.partial });
      runner.log(`noether ${req.command}: ${e.message}`);
      return EXIT.NON_FINITE;
    }
    throw e;
  }
}

import { join } from 'node:path';
import { buildExperiment, disposeMetaState, interrupted, type Experiment, type ExperimentConfig, type MetaState } from '@noether/core';
import { curveRows } from '../analyze/video.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { applySets, validateConfig } from '../run/config.js';
import { experiments } from '../experiments/index.js';
import type { ExtraMetrics } from '../experiments/table.js';
import { cliContainer } from '../run/container.js';
import { PLUGIN_FLAG, pluginsFor } from '../run/user-plugins.js';
import { staleTailoringNote } from '../run/stale-tailoring.js';
import { RunDir, type ResultRow } from '../run/run-dir.js';
import { Runner, phaseRows } from '../run/runner.js';
import { allPlugins, formatTable } from './run-shared.js';
import type { Command } from './types.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a run's latest checkpoints (untailored vs tailored) and print a table",
  usage: '[options] RUN',
  description:
    'Loads the latest checkpoint of every phase in run directory RUN, evaluates it on the test split with the\n' +
    "run's own config, prints the result table, and appends eval rows to the run's metrics.csv.\n" +
    "A run of 'noether experiment' gets the experiment's table: rows named as the experiment names them (as\n" +
    "in its result.json), in its order, with its reference rows (e.g. 'Copy last frame (reference)'). A run\n" +
    "of 'noether train' names its rows by its config's name.",
  examples: ['noether eval runs/toy-oscillator-20250101-120000Z', `noether eval runs/toy --max-batches 2 --set 'eval.metrics=["mse"]'`],
  flags: [
    { name: 'max-batches', type: 'int', min: 1, valueName: 'N', description: 'evaluate at most N batches (quick look; same as --set eval.maxBatches=N)' },
    {
      name: 'set', type: 'list', valueName: 'FIELD=VALUE',
      description: "override an eval.* or testInner.* field of the run's config for this evaluation, e.g. --set testInner.steps=5",
    },
    { name: 'phase', type: 'string', valueName: 'NAME', description: "only this phase (default: every phase with a checkpoint, and an experiment's reference rows)" },
    PLUGIN_FLAG,
  ],
  positionals: [{ name: 'run', description: 'a run directory', required: true }],
  async run(ctx) {
    const rd = RunDir.open(resolvePath(ctx.io, ctx.positionals['run'] as string));
    const phases = rd.phases();
    const want = ctx.flags['phase'] as string | undefined;
    if (want && !phases.includes(want)) throw new CliError(`run ${rd.path} has no checkpoint for phase '${want}'; phases: ${phases.join(', ') || '(none)'}`);
    if (!phases.length) throw new CliError(`run ${rd.path} has no checkpoint yet: train it first (noether train --resume ${rd.path})`);
    // The checkpoints were trained with the run's config: only how they are evaluated may change.
    const sets = [...((ctx.flags['set'] as string[] | undefined) ?? [])];
    for (const s of sets) {
      if (!/^(eval|testInner)\./.test(s)) throw new UsageError(`--set ${s}: eval changes only eval.* and testInner.* fields (the checkpoints were trained with the run's own config)`);
    }
    if (ctx.flags['max-batches'] !== undefined) sets.push(`eval.maxBatches=${ctx.flags['max-batches']}`);
    // An experiment run's rows as the experiment's own table names them (one definition: the
    // experiment's resultTable), in its order; a phase it does not name keeps its phase name.
    const builtin = rd.meta.experiment ? experiments[rd.meta.experiment] : undefined;
    const spec = builtin?.resultTable?.(validateConfig(rd.readConfig(), join(rd.path, 'config.json')));
    const order = spec ? spec.phases.map((p) => p.phase) : [];
    const selected = want ? [want] : [...order.filter((p) => phases.includes(p)), ...phases.filter((p) => !order.includes(p))];
    const configs = selected.map((phase) => {
      const file = join(rd.path, 'checkpoints', phase, 'config.json');
      const raw = applySets(rd.readPhaseConfig(phase) as Record<string, unknown>, sets);
      const source = sets.length ? `${file} with ${sets.map((s) => `--set ${s}`).join(' ')}` : file;
      return { phase, source, cfg: validateConfig(raw, source) };
    });
    const user = await pluginsFor(ctx.io, ctx.flags['plugin'] as string[] | undefined, rd.meta.plugins, rd.path);
    await ctx.backend();
    const container = cliContainer(...allPlugins(), ...user.plugins);
    const runner = new Runner(ctx.io, rd, ctx.signal, { checkpointEvery: 0, progress: false });
    const table: ResultRow[] = [];
    const ready: { phase: string; cfg: ExperimentConfig; exp: Experiment; state: MetaState }[] = [];
    let extra: ExtraMetrics | undefined;
    try {
      // Every phase's experiment and checkpoint first: a bad --set (an unknown metric) or a corrupt
      // checkpoint of a later phase fails before anything is evaluated or appended to the run.
      for (const { phase, source, cfg } of configs) {
        let exp: Experiment;
        try {
          exp = await buildExperiment(container, cfg);
        } catch (e) {
          throw new CliError(`invalid ${source}: ${String((e as Error).message).split('\n')[0]} (fix the file or the --set value)`);
        }
        const like = exp.initState();
        try {
          const loaded = rd.loadCheckpoint(phase, like);
          if (loaded) ready.push({ phase, cfg, exp, state: loaded.state });
        } finally {
          disposeMetaState(like);
        }
      }
      // Metrics the experiment scores beyond eval.metrics (LPIPS), so the columns are the experiment's.
      extra = builtin?.extraMetrics?.(ctx.io);
      for (const l of extra?.log ?? []) ctx.log(l);
      let last: Experiment | undefined;
      const done: string[] = [];
      let noted: string | undefined;
      // Ctrl-C is seen between phases (evaluate runs synchronously per batch, so the loop must yield for it).
      const stopped = async () => {
        if (!(await interrupted(ctx.signal))) return false;
        ctx.log(`noether eval: interrupted ${done.length ? `after evaluating ${done.join(', ')} (their eval rows are in metrics.csv, their plots in plots/); the rest not evaluated` : 'before evaluating anything; nothing written'}`);
        return true;
      };
      for (const { phase, cfg, exp, state } of ready) {
        if (await stopped()) return EXIT.INTERRUPTED;
        const stale = staleTailoringNote(rd, exp);
        if (stale && !noted) ctx.log((noted = stale));
        if (extra) exp.metrics = [...exp.metrics, ...extra.metrics];
        ctx.log(`[${phase}] evaluating checkpoint at step ${state.step}`);
        const ev = await runner.evaluatePhase(phase, exp, state);
        last = exp;
        done.push(phase);
        // A `noether train` run's rows by its config's name; an experiment phase the experiment does not name, by phase.
        const rows = phaseRows(spec, phase, rd.meta.experiment ? phase : cfg.name, cfg.mode, ev);
        table.push(...rows.map((r) => ({ ...r, step: state.step })));
      }
      // The reference rows (no checkpoint, so no step), scored as the experiment scores them. With
      // --phase the table is that phase's alone.
      if (spec?.references && last && !want) {
        if (await stopped()) return EXIT.INTERRUPTED;
        ctx.log('[reference] evaluating the reference models');
        table.push(...curveRows(await spec.references(last)));
      }
    } finally {
      for (const r of ready) disposeMetaState(r.state);
      extra?.dispose();
    }
    ctx.io.out(formatTable(table));
    return 0;
  },
};

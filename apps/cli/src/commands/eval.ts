import { join } from 'node:path';
import { buildExperiment, disposeMetaState } from '@noether/core';
import { CliError, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { applySets, validateConfig } from '../run/config.js';
import { cliContainer } from '../run/container.js';
import { RunDir, type ResultRow } from '../run/run-dir.js';
import { Runner, tableRows } from '../run/runner.js';
import { allPlugins, formatTable } from './run-shared.js';
import type { Command } from './types.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a run's latest checkpoints (untailored vs tailored) and print a table",
  usage: '[options] RUN',
  description:
    'Loads the latest checkpoint of every phase in run directory RUN, evaluates it on the test split with the\n' +
    "run's own config, prints the result table, and appends eval rows to the run's metrics.csv.",
  examples: ['noether eval runs/toy-oscillator-20250101-120000Z', `noether eval runs/toy --max-batches 2 --set 'eval.metrics=["mse"]'`],
  flags: [
    { name: 'max-batches', type: 'int', min: 1, valueName: 'N', description: 'evaluate at most N batches (quick look; same as --set eval.maxBatches=N)' },
    {
      name: 'set', type: 'list', valueName: 'FIELD=VALUE',
      description: "override an eval.* or testInner.* field of the run's config for this evaluation, e.g. --set testInner.steps=5",
    },
    { name: 'phase', type: 'string', valueName: 'NAME', description: 'only this phase (default: every phase with a checkpoint)' },
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
    const configs = (want ? [want] : phases).map((phase) => {
      const file = join(rd.path, 'checkpoints', phase, 'config.json');
      const raw = applySets(rd.readPhaseConfig(phase) as Record<string, unknown>, sets);
      return { phase, cfg: validateConfig(raw, sets.length ? `${file} with ${sets.map((s) => `--set ${s}`).join(' ')}` : file) };
    });
    await ctx.backend();
    const container = cliContainer(...allPlugins());
    const runner = new Runner(ctx.io, rd, ctx.signal, { checkpointEvery: 0, progress: false });
    const table: ResultRow[] = [];
    for (const { phase, cfg } of configs) {
      const exp = await buildExperiment(container, cfg);
      const like = exp.initState();
      const loaded = rd.loadCheckpoint(phase, like);
      disposeMetaState(like);
      if (!loaded) continue;
      ctx.log(`[${phase}] evaluating checkpoint at step ${loaded.state.step}`);
      const ev = await runner.evaluatePhase(phase, exp, loaded.state);
      disposeMetaState(loaded.state);
      // Rows named as the run named them: a `noether train` run by its config's name, an experiment by phase.
      const label = rd.meta.experiment ? phase : cfg.name;
      table.push(...tableRows(label, cfg.mode, ev).map((r) => ({ ...r, step: loaded.state.step })));
    }
    ctx.io.out(formatTable(table));
    return 0;
  },
};

import { join } from 'node:path';
import { LPIPS_WEIGHTS_ENV } from '@noether/metrics';
import { UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { experiments } from '../experiments/index.js';
import { RUN_FLAGS, executeRun, newRunConfig } from './run-shared.js';
import type { Command } from './types.js';

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'run a built-in experiment (train, evaluate, print a result table)',
  usage: '[options] NAME',
  description:
    'Runs a built-in experiment in a new run directory (config.json, meta.json, metrics.csv, checkpoints/, plots/, result.json).\n' +
    '--quick uses a small config that finishes in seconds to minutes on 2 CPU cores (see --list); --config / --set / flags override fields of the built-in config.\n' +
    'Run with --list (or without NAME) to see the experiments.',
  examples: ['noether experiment toy-oscillator --quick', 'noether experiment physics101 --data ~/phys101 --lpips-weights ~/lpips-alex', 'noether experiment toy-oscillator --set outer.lrPhi=3e-3 --out runs/toy', 'noether experiment --resume runs/toy'],
  flags: [
    { name: 'quick', short: 'q', type: 'boolean', description: 'small config: seconds to minutes on 2 CPU cores' },
    { name: 'list', type: 'boolean', description: 'list the built-in experiments' },
    { name: 'print-config', type: 'boolean', description: 'print the resolved config as JSON and exit' },
    { name: 'data', type: 'string', valueName: 'DIR', description: 'dataset folder, for experiments that read one (physics101); same as --set dataset.root=DIR' },
    { name: 'lpips-weights', type: 'string', valueName: 'DIR', description: 'converted LPIPS weights (manifest.json + weights.bin); same as NOETHER_LPIPS_WEIGHTS=DIR' },
    ...RUN_FLAGS,
  ],
  positionals: [{ name: 'name', description: 'the experiment to run (see --list)' }],
  async run(ctx) {
    const name = ctx.positionals['name'] as string | undefined;
    const list = () =>
      Object.entries(experiments).map(([n, e]) => `  ${n.padEnd(20)} ${e.description}`).join('\n');
    if (ctx.flags['list'] || (!name && ctx.flags['resume'] === undefined)) {
      if (!ctx.flags['list']) throw new UsageError(`missing NAME: choose an experiment:\n${list()}`);
      ctx.io.out(`Built-in experiments:\n${list()}\n`);
      return 0;
    }
    if (name && !experiments[name]) {
      throw new UsageError(`unknown experiment '${name}'; available: ${Object.keys(experiments).join(', ')} (see noether experiment --list)`);
    }
    // Shorthands: --data sets dataset.root (before any explicit --set, which wins); --lpips-weights the env var.
    if (typeof ctx.flags['data'] === 'string') ctx.flags['set'] = [`dataset.root=${JSON.stringify(resolvePath(ctx.io, ctx.flags['data']))}`, ...((ctx.flags['set'] as string[]) ?? [])];
    if (typeof ctx.flags['lpips-weights'] === 'string') ctx.io.env[LPIPS_WEIGHTS_ENV] = resolvePath(ctx.io, ctx.flags['lpips-weights']);
    if (ctx.flags['print-config']) {
      // A resumed run keeps the config it was started with; that is its config.json, not a preset.
      if (typeof ctx.flags['resume'] === 'string') {
        throw new UsageError(`--print-config shows the config a new run would use; a resumed run keeps its own (see ${join(String(ctx.flags['resume']), 'config.json')})`);
      }
      // The same resolution as the run itself (--config, --set, --seed, --epochs, --name), so the
      // printed config is the one `noether experiment` without --print-config would train.
      ctx.io.out(JSON.stringify(newRunConfig(ctx, name, Boolean(ctx.flags['quick'])), null, 2) + '\n');
      return 0;
    }
    return executeRun(ctx, { experimentName: name, command: 'experiment', quick: Boolean(ctx.flags['quick']) });
  },
};

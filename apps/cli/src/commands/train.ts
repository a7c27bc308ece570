import { RUN_FLAGS, executeRun } from './run-shared.js';
import type { Command } from './types.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train the model a config file describes, with checkpoints and resume',
  usage: '--config FILE [options]',
  description:
    'Meta-trains the predictor (and embedding) a config describes, checkpointing every --checkpoint-every steps,\n' +
    'then evaluates untailored vs tailored predictions on the test split. Ctrl-C writes a checkpoint and exits 130;\n' +
    '--resume RUN continues from it and reaches the same result as an uninterrupted run.',
  examples: [
    'noether train --config configs/toy.yaml --set outer.lrPhi=1e-3 --out runs/toy',
    'noether train --resume runs/toy',
  ],
  flags: RUN_FLAGS,
  async run(ctx) {
    return executeRun(ctx, { command: 'train' });
  },
};

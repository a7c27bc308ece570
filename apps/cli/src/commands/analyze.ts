// Placeholder: the analysis engineer replaces this file with the real command.
import { CliError, EXIT } from '../cli/errors.js';
import type { Command } from './types.js';

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'analyse a trained embedding (what it conserves) (coming soon)',
  usage: '[options] RUN',
  description: 'Analyses the learned conservation law of a run. Not yet available in this build.',
  examples: ['noether analyze --help'],
  flags: [],
  async run() {
    throw new CliError('noether analyze is not available in this build yet', EXIT.FAILURE);
  },
};

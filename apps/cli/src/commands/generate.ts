// Placeholder: the datasets engineer replaces this file with the real command.
import { CliError, EXIT } from '../cli/errors.js';
import type { Command } from './types.js';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate a dataset (physical systems, videos) to files (coming soon)',
  usage: '[options]',
  description: 'Generates datasets with @noether/datasets. Not yet available in this build.',
  examples: ['noether generate --help'],
  flags: [],
  async run() {
    throw new CliError('noether generate is not available in this build yet', EXIT.FAILURE);
  },
};

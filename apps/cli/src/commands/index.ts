// The subcommands, in the order `noether --help` lists them. Add a command: one file in
// this folder exporting a Command (see types.ts), plus one line below.
import type { Command } from './types.js';
import { experimentCommand } from './experiment.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { discoverCommand } from './discover.js';
import { generateCommand } from './generate.js';
import { analyzeCommand } from './analyze.js';
import { backendsCommand } from './backends.js';
import { reportCommand } from './report.js';

export const commands: readonly Command[] = [
  experimentCommand,
  trainCommand,
  evalCommand,
  discoverCommand,
  generateCommand,
  analyzeCommand,
  backendsCommand,
  reportCommand,
];

export type { Command, CommandContext } from './types.js';

// The shape of one subcommand. Adding a command = one file exporting a Command plus
// one line in commands/index.ts; main() handles parsing, --help, global flags and exit codes.
import type { FlagSpec, FlagValues, PositionalSpec } from '../cli/args.js';
import type { Io } from '../cli/io.js';
import type { BackendInfo } from '../run/backend.js';

export interface CommandContext {
  io: Io;
  flags: FlagValues;
  positionals: Record<string, string | string[] | undefined>;
  /** Activates the tfjs backend (--backend / NOETHER_BACKEND / fastest installed; --wasm-threads) once, on first call. */
  backend(): Promise<BackendInfo>;
  /** Aborted on Ctrl-C (SIGINT). */
  signal: AbortSignal;
  /** A line on stderr (diagnostics, progress); stdout carries results. */
  log(line: string): void;
  /** The whole command line after `noether`, as given (recorded in a run's meta.json). */
  argv: readonly string[];
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage line after `noether <name>`, e.g. '[options] RUN...'. */
  usage: string;
  /** Longer explanation, shown by --help. */
  description?: string;
  /** At least one runnable example (shown by --help). */
  examples: string[];
  flags: FlagSpec[];
  positionals?: PositionalSpec[];
  run(ctx: CommandContext): Promise<number>;
}

/** Flags every command accepts (also before the command name). */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'help', short: 'h', type: 'boolean', description: 'show help for this command' },
  { name: 'backend', type: 'string', valueName: 'NAME', choices: ['cpu', 'wasm', 'tensorflow'], description: 'force a tfjs backend (default: NOETHER_BACKEND, else the fastest installed)' },
  {
    name: 'wasm-threads',
    type: 'int',
    min: 1,
    valueName: 'N',
    description: 'run the wasm backend on N threads (default: NOETHER_WASM_THREADS, else 1); faster on idle multi-core machines, slower on busy ones',
  },
];

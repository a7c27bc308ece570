// `noether` entry point: main(argv) → exit code. Global flags, subcommand dispatch,
// --help at every level, Ctrl-C, and the mapping of errors to one clear line + exit code.
import { parseArgs } from './cli/args.js';
import { CliError, EXIT, UsageError, fsPathError, oneLine } from './cli/errors.js';
import { commandHelp, topHelp } from './cli/help.js';
import { processIo, type Io } from './cli/io.js';
import { commands } from './commands/index.js';
import { GLOBAL_FLAGS, type CommandContext } from './commands/types.js';
import { activateBackend, backendLabel, type BackendInfo } from './run/backend.js';
import { cliVersion } from './run/versions.js';
import { tf } from '@noether/core';

const TOP_FLAGS = [...GLOBAL_FLAGS, { name: 'version', short: 'V', type: 'boolean' as const, description: 'print the version' }];
/** Global flags that take a value (`--backend wasm`), so the value is not read as the command. */
const GLOBAL_WITH_VALUE = new Set(GLOBAL_FLAGS.filter((f) => f.type !== 'boolean').map((f) => `--${f.name}`));

/** Splits leading global flags from `<command> [args]`. */
function splitGlobal(argv: readonly string[]): { global: string[]; command?: string; rest: string[] } {
  const global: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) break;
    global.push(a);
    if (GLOBAL_WITH_VALUE.has(a) && i + 1 < argv.length) global.push(argv[++i]!);
  }
  return { global, command: argv[i], rest: argv.slice(i + 1) };
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  // tfjs's own notices (the "install tfjs-node" banner, kernel re-registration) are noise for
  // CLI users; PROD silences only tfjs's console warnings. NOETHER_DEBUG keeps them.
  if (!io.env['NOETHER_DEBUG']) tf.env().set('PROD', true);
  let cmdName: string | undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const removeInterrupt = io.onInterrupt(() => {
    interrupts++;
    if (interrupts === 1) {
      io.err('\nnoether: interrupt received: stopping soon (training writes a checkpoint first; Ctrl-C again to quit at once)\n');
      controller.abort();
    } else {
      io.err('noether: quitting without a checkpoint\n');
      process.exit(EXIT.INTERRUPTED);
    }
  });
  try {
    const split = splitGlobal(argv);
    const top = parseArgs(split.global, TOP_FLAGS);
    if (top.flags['version']) {
      io.out(`noether ${cliVersion()}\n`);
      return EXIT.OK;
    }
    if (!split.command) {
      if (top.flags['help']) {
        io.out(topHelp(commands, cliVersion()));
        return EXIT.OK;
      }
      io.err(topHelp(commands, cliVersion()));
      io.err('\nnoether: missing command: choose one of the commands above\n');
      return EXIT.USAGE;
    }
    if (split.command === 'help') {
      const c = commands.find((x) => x.name === split.rest[0]);
      io.out(c ? commandHelp(c) : topHelp(commands, cliVersion()));
      return EXIT.OK;
    }
    const cmd = commands.find((c) => c.name === split.command);
    if (!cmd) throw new UsageError(`unknown command '${split.command}'; commands: ${commands.map((c) => c.name).join(', ')}`);
    cmdName = cmd.name;
    const specs = [...cmd.flags, ...GLOBAL_FLAGS];
    // --help anywhere wins over other errors in the same line.
    if (split.rest.includes('--help') || split.rest.includes('-h') || top.flags['help']) {
      io.out(commandHelp(cmd));
      return EXIT.OK;
    }
    const parsed = parseArgs(split.rest, specs, cmd.positionals ?? []);
    const flags = { ...top.flags, ...parsed.flags };
    let backend: Promise<BackendInfo> | undefined;
    const ctx: CommandContext = {
      io,
      flags,
      positionals: parsed.positionals,
      signal: controller.signal,
      log: (line) => io.err(line + '\n'),
      argv,
      backend: () =>
        (backend ??= activateBackend(flags['backend'], io.env, flags['wasm-threads']).then((b) => {
          io.err(`noether: backend ${backendLabel(b)} (${b.reason})\n`);
          if (b.note) io.err(`noether: note: ${b.note}\n`);
          return b;
        })),
    };
    return await cmd.run(ctx);
  } catch (caught) {
    const prefix = cmdName ? `noether ${cmdName}` : 'noether';
    // A path the command did not check up-front (e.g. a folder made read-only mid-run) is still the user's to fix.
    const e = fsPathError(caught) ?? caught;
    if (e instanceof CliError) {
      // A message with its own pointer (e.g. '(see noether experiment --list)') gets no second one.
      const hint = e instanceof UsageError && !e.message.includes('(see ') ? ` (see: noether${cmdName ? ` ${cmdName}` : ''} --help)` : '';
      io.err(`${prefix}: ${e.message.includes('\n') ? e.message : oneLine(e.message)}${hint}\n`);
      return e.code;
    }
    const err = e as Error;
    io.err(`${prefix}: error: ${oneLine(String(err?.message ?? err))}\n`);
    if (io.env['NOETHER_DEBUG']) io.err(`${err?.stack ?? ''}\n`);
    return EXIT.FAILURE;
  } finally {
    removeInterrupt();
  }
}

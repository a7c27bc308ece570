// Help text at every level, each with an example.
import { formatFlags } from './args.js';
import { EXIT_CODES_HELP } from './errors.js';
import type { Command } from '../commands/types.js';
import { GLOBAL_FLAGS } from '../commands/types.js';

export function topHelp(commands: readonly Command[], version: string): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return `noether ${version} — Noether Networks: meta-learned conservation laws for sequence prediction

Usage: noether [--backend NAME] [--wasm-threads N] <command> [options]
       noether <command> --help

Commands:
${commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Global options:
${formatFlags([...GLOBAL_FLAGS, { name: 'version', short: 'V', type: 'boolean', description: 'print the version' }])}

Environment:
  NOETHER_BACKEND         force a backend (cpu, wasm, tensorflow); --backend wins
  NOETHER_WASM_THREADS=N  run wasm on N threads (default 1); --wasm-threads wins
  NOETHER_DEBUG=1         print stack traces of unexpected errors

${EXIT_CODES_HELP}

Examples:
  noether experiment toy-oscillator --quick
  noether backends
  noether report runs/* --out report.html
`;
}

export function commandHelp(c: Command): string {
  const pos = c.positionals?.length
    ? `\nArguments:\n${c.positionals.map((p) => `  ${(p.name.toUpperCase() + (p.variadic ? '...' : '')).padEnd(10)}  ${p.description}${p.required ? '' : ' (optional)'}`).join('\n')}\n`
    : '';
  return `Usage: noether ${c.name} ${c.usage}

${c.summary}${c.description ? `\n\n${c.description}` : ''}
${pos}
Options:
${formatFlags([...c.flags, ...GLOBAL_FLAGS])}

Examples:
${c.examples.map((e) => `  ${e}`).join('\n')}

${EXIT_CODES_HELP}
`;
}

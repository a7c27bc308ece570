import { BACKENDS, activateBackend, backendLabel, installedBackends, requestedBackend } from '../run/backend.js';
import type { Command } from './types.js';

export const backendsCommand: Command = {
  name: 'backends',
  summary: 'show which tfjs backends are installed and which one would be used',
  usage: '[--backend NAME] [--wasm-threads N]',
  description:
    'Probes the tfjs backends (tensorflow = @tensorflow/tfjs-node[-gpu], wasm, cpu) and activates the one a run would use:\n' +
    '--backend NAME or NOETHER_BACKEND force one (exit 2 when it is not installed); otherwise the fastest installed.\n' +
    '--wasm-threads N or NOETHER_WASM_THREADS run core\'s matrix and conv kernels on N threads (opt-in, default 1; the same\n' +
    'numbers as 1 thread): on 2 cores the SVG and video meta-steps 1.5x, the MLP step 1.1-1.3x faster; +80 MB and about 1 s at start-up.',
  examples: ['noether backends', 'NOETHER_BACKEND=cpu noether backends', 'noether backends --backend wasm --wasm-threads 2'],
  flags: [],
  async run(ctx) {
    const installed = await installedBackends();
    const lines = ['backend     installed'];
    for (const b of BACKENDS) lines.push(`${b.padEnd(10)}  ${installed[b] ? 'yes' : 'no'}`);
    ctx.io.out(lines.join('\n') + '\n');
    const req = requestedBackend(ctx.flags['backend'], ctx.io.env);
    const chosen = await activateBackend(ctx.flags['backend'], ctx.io.env, ctx.flags['wasm-threads']);
    ctx.io.out(`selected: ${backendLabel(chosen)}${chosen.nativePackage ? ` (@tensorflow/${chosen.nativePackage})` : ''} — ${req.name ? `forced by ${req.source}` : chosen.reason}\n`);
    if (chosen.note) ctx.io.out(`note: ${chosen.note}\n`);
    else if (chosen.name === 'wasm' && chosen.threads === 1) ctx.io.out('wasm runs on 1 thread; --wasm-threads N (or NOETHER_WASM_THREADS) opts in to N\n');
    return 0;
  },
};

import { BACKENDS, activateBackend, installedBackends, requestedBackend } from '../run/backend.js';
import type { Command } from './types.js';

export const backendsCommand: Command = {
  name: 'backends',
  summary: 'show which tfjs backends are installed and which one would be used',
  usage: '[--backend NAME]',
  description:
    'Probes the tfjs backends (tensorflow = @tensorflow/tfjs-node[-gpu], wasm, cpu) and activates the one a run would use:\n' +
    '--backend NAME or NOETHER_BACKEND force one (exit 2 when it is not installed); otherwise the fastest installed.',
  examples: ['noether backends', 'NOETHER_BACKEND=cpu noether backends', 'noether backends --backend wasm'],
  flags: [],
  async run(ctx) {
    const installed = await installedBackends();
    const lines = ['backend     installed'];
    for (const b of BACKENDS) lines.push(`${b.padEnd(10)}  ${installed[b] ? 'yes' : 'no'}`);
    ctx.io.out(lines.join('\n') + '\n');
    const req = requestedBackend(ctx.flags['backend'], ctx.io.env);
    const chosen = await activateBackend(ctx.flags['backend'], ctx.io.env);
    ctx.io.out(`selected: ${chosen.name}${chosen.nativePackage ? ` (@tensorflow/${chosen.nativePackage})` : ''} — ${req.name ? `forced by ${req.source}` : chosen.reason}\n`);
    return 0;
  },
};

import { basename, resolve } from 'node:path';
import { resolvePath } from '../cli/io.js';
import { checkOutputFile } from '../cli/output.js';
import { renderReport, summarize } from '../report/html.js';
import { writeFileAtomic } from '../run/fs-atomic.js';
import { RunDir } from '../run/run-dir.js';
import type { Command } from './types.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write one self-contained HTML page comparing runs',
  usage: '[options] RUN...',
  description:
    'Reads run directories and writes a single HTML file (inline CSS, plots as embedded PNGs): the runs, their config\n' +
    'differences, result tables, a training-loss comparison, and each run\'s plots and frame grids. A plot that is not a\n' +
    'valid PNG (cut short, damaged) is left out with a warning naming the file, and a note in its place on the page.',
  examples: ['noether report runs/toy-a runs/toy-b --out report.html'],
  flags: [
    { name: 'out', short: 'o', type: 'string', valueName: 'FILE', description: 'where to write the page (default report.html)' },
    { name: 'title', type: 'string', valueName: 'TEXT', description: 'page title (default: Noether report: RUN, ...)' },
  ],
  positionals: [{ name: 'runs', description: 'one or more run directories', required: true, variadic: true }],
  async run(ctx) {
    const paths = ctx.positionals['runs'] as string[];
    const out = resolvePath(ctx.io, (ctx.flags['out'] as string | undefined) ?? 'report.html');
    checkOutputFile(out, '--out'); // before reading (and plotting) every run
    const runs = paths.map((p) => {
      const dir = RunDir.open(resolvePath(ctx.io, p));
      return summarize(basename(resolve(dir.path)), dir);
    });
    const title = (ctx.flags['title'] as string | undefined) ?? `Noether report: ${runs.map((r) => r.label).join(', ')}`;
    writeFileAtomic(out, renderReport(runs, title));
    for (const p of runs.flatMap((r) => r.plots)) if (p.problem) ctx.log(`warning: left out of the report, not a valid PNG: ${p.problem}`);
    ctx.io.out(`${out}\n`);
    return 0;
  },
};

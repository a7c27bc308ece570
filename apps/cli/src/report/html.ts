// One self-contained HTML page comparing runs: inline CSS, plots as PNG data URIs,
// no scripts and no external resources, so it can be mailed or archived as one file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageToPng, linePlot, type PlotSeries } from '@noether/core';
import { ANALYSES } from '../commands/analyze.js';
import type { MetricsRow, RunDir, RunResult } from '../run/run-dir.js';
import { pngProblem } from './png-check.js';

export interface RunSummary {
  label: string;
  dir: RunDir;
  config: unknown;
  result?: RunResult;
  metrics: MetricsRow[];
  /** plots/NAME.png, with the legend of plots/NAME.txt where the writer left one; a file that is not a
   * well-formed PNG has no png but the path and the problem. */
  plots: { name: string; png?: Uint8Array; problem?: string; legend?: string }[];
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** Flattens nested config objects into dotted paths. */
export function flatten(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = JSON.stringify(v);
  }
  return out;
}

export function summarize(label: string, dir: RunDir): RunSummary {
  const plotsDir = join(dir.path, 'plots');
  const plots = existsSync(plotsDir)
    ? readdirSync(plotsDir).filter((f) => f.endsWith('.png')).sort().map((f) => {
        const name = f.replace(/\.png$/, '');
        const txt = join(plotsDir, `${name}.txt`);
        const legend = existsSync(txt) ? readFileSync(txt, 'utf8') : undefined;
        const file = join(plotsDir, f);
        const png = new Uint8Array(readFileSync(file));
        // A damaged plot (a copy cut short, a full disk) is left out with a note, not embedded and not
        // fatal: the page would show a broken image with no reason, and one bad file should not cost
        // the report of every other plot and run. The note names the file, to delete or redraw.
        const problem = pngProblem(png);
        return problem ? { name, problem: `${file}: ${problem}`, legend } : { name, png, legend };
      })
    : [];
  return { label, dir, config: dir.readConfig(), result: dir.readResult(), metrics: dir.readMetrics(), plots };
}

function fmt(v: unknown): string {
  // Integers (seeds, steps, counts) as they are; 4 significant digits would print seed 1 as "1.000".
  if (Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3)) : String(v);
  return String(v ?? '');
}

function table(head: string[], rows: unknown[][], cls = ''): string {
  return (
    `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(fmt(c))}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const CSS = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
th{background:#f4f6f8}td{font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafafa}
.plots{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:1px solid #eee;padding:.4rem;background:#fff}
figcaption{font-size:.8rem;color:#555;text-align:center}.legend{font-size:.75rem;white-space:pre-wrap;max-width:780px;margin:.3rem 0 0}img{max-width:100%;image-rendering:auto}
.missing{color:#c00;font-size:.85rem;max-width:420px}.status-completed{color:#1a7f37}.status-interrupted,.status-non-finite{color:#b35900}.status-failed{color:#c00}`;

/** Builds the report page for runs (in the order given). */
export function renderReport(runs: RunSummary[], title: string): string {
  const parts: string[] = [];
  parts.push(`<h1>${esc(title)}</h1><p class="sub">${runs.length} run${runs.length === 1 ? '' : 's'} · generated ${esc(new Date().toISOString())}</p>`);

  // Overview
  parts.push('<h2>Runs</h2>');
  parts.push(
    table(
      ['run', 'experiment', 'status', 'seed', 'backend', 'started', 'final loss'],
      runs.map((r) => [
        r.label,
        r.dir.meta.experiment ?? '(config)',
        r.result?.status ?? 'running or killed',
        r.dir.meta.seed,
        r.dir.meta.backend,
        r.dir.meta.startedAt,
        r.result ? Object.entries(r.result.finalLoss).map(([p, v]) => `${p}: ${fmt(v)}`).join(', ') : '',
      ]),
      'runs',
    ),
  );

  // Config differences
  const flats = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort();
  const differing = runs.length > 1 ? keys.filter((k) => new Set(flats.map((f) => f[k] ?? '—')).size > 1) : keys;
  parts.push(`<h2>${runs.length > 1 ? 'Config differences' : 'Config'}</h2>`);
  if (runs.length > 1 && !differing.length) parts.push('<p>The configs are identical.</p>');
  else parts.push(table(['field', ...runs.map((r) => r.label)], differing.map((k) => [k, ...flats.map((f) => f[k] ?? '—')]), 'config'));

  // Results
  parts.push('<h2>Results</h2>');
  const resultRows = runs.flatMap((r) => (r.result?.table ?? []).map((row) => ({ run: r.label, ...row })));
  if (resultRows.length) {
    const cols = [...new Set(resultRows.flatMap((r) => Object.keys(r)))];
    parts.push(table(cols, resultRows.map((r) => cols.map((c) => (r as Record<string, unknown>)[c] ?? '')), 'results'));
  } else {
    parts.push('<p>No completed results yet (result tables appear when a run finishes).</p>');
  }

  // Comparison plot: training loss of every run and phase on one axis.
  const series: PlotSeries[] = [];
  for (const r of runs) {
    const train = r.metrics.filter((m) => m.kind === 'train' && Number.isFinite(Number(m.loss)));
    for (const phase of [...new Set(train.map((m) => String(m.phase)))]) {
      const rs = train.filter((m) => m.phase === phase);
      series.push({ name: runs.length > 1 ? `${r.label}/${phase}` : phase, x: rs.map((m) => Number(m.step)), y: rs.map((m) => Number(m.loss)) });
    }
  }
  const comparison: string[] = [];
  if (series.length) {
    const logY = series.every((s) => Array.from(s.y).every((v) => v > 0));
    const png = imageToPng(linePlot({ title: 'training loss', xLabel: 'step', yLabel: 'loss', logY, series, width: 720, height: 400 }));
    comparison.push(`<div class="plots"><figure><img alt="training loss of all runs" src="${dataUri(png)}"><figcaption>training loss (all runs)</figcaption></figure></div>`);
  }

  // Each run's plots, by kind: metric curves, frame grids, and images from `noether analyze`. A
  // plot's .txt legend (the rows of a grid, what a map shows) goes under it: the image alone is mute.
  const kindOf = (name: string) =>
    ANALYSES.some((a) => name === a || name.startsWith(`${a}-`)) ? 'Analyses (noether analyze)' : /grid|frames/i.test(name) ? 'Frame grids' : 'Metric plots';
  const sections = new Map<string, string[]>([['Metric plots', comparison], ['Frame grids', []], ['Analyses (noether analyze)', []]]);
  for (const [heading, body] of sections) {
    for (const r of runs) {
      const figures = r.plots.filter((p) => kindOf(p.name) === heading).map((p) =>
        `<figure>${p.png ? `<img alt="${esc(`${r.label} ${p.name}`)}" src="${dataUri(p.png)}">` : `<p class="missing">left out, not a valid PNG: ${esc(p.problem)}</p>`}` +
          `<figcaption>${esc(p.name)}</figcaption>${p.legend ? `<pre class="legend">${esc(p.legend.trimEnd())}</pre>` : ''}</figure>`);
      if (figures.length) body.push(`<h3>${esc(r.label)}</h3><div class="plots">${figures.join('')}</div>`);
    }
    if (body.length) parts.push(`<h2>${esc(heading)}</h2>`, ...body);
  }

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}

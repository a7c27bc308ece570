// `noether report`: one self-contained HTML page; opened in headless Chromium to check
// what a person sees (title, table rows, images actually decoded).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageToPng, linePlot } from '@noether/core';
import { pngProblem } from '../src/report/png-check.js';
import { CHROMIUM, TINY, chromiumArgs, run, tmp } from './helpers.js';

describe('report', () => {
  let dir: string;
  let html: string;
  let file: string;

  beforeAll(async () => {
    dir = tmp();
    for (const [name, lr] of [['run-a', '0.01'], ['run-b', '0.02']] as const) {
      const r = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '1', '--set', `outer.lrPhi=${lr}`, '--out', join(dir, name)]);
      expect(r.code, r.err).toBe(0);
    }
    file = join(dir, 'report.html');
    const r = await run(['report', join(dir, 'run-a'), join(dir, 'run-b'), '--out', file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(file);
    html = readFileSync(file, 'utf8');
  });

  it('is self-contained: no external resources, images inline, CSS inline', () => {
    expect(html).not.toMatch(/(src|href)="(https?:|\/\/|file:)/);
    expect(html).not.toMatch(/<link |<script/);
    expect(html).toContain('<style>');
    const imgs = [...html.matchAll(/<img [^>]*src="data:image\/png;base64,([^"]+)"/g)];
    // comparison plot + 3 plots per run
    expect(imgs.length).toBe(1 + 2 * 3);
    for (const m of imgs) expect([...Buffer.from(m[1]!, 'base64').subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    // Compressed PNGs: stored (uncompressed) ones made these 7 plots about 9 MB of base64.
    expect(html.length).toBeLessThan(1_000_000);
  });

  it('shows the config difference and both runs\' results', () => {
    expect(html).toMatch(/<td>outer\.lrPhi<\/td><td>0\.01<\/td><td>0\.02<\/td>/);
    expect(html).not.toMatch(/<td>outer\.lrTheta<\/td>/); // identical fields are not listed
    for (const r of ['run-a', 'run-b']) for (const m of ['baseline', 'noether (tailored)']) expect(html).toContain(`<td>${r}</td><td>${m.replace(/[()]/g, (c) => c)}</td>`);
  });

  it.skipIf(!CHROMIUM)(`renders in headless Chromium${CHROMIUM ? '' : ' (skipped: no /usr/bin/chromium; the CI script installs it)'}`, () => {
    // Test-only probe appended to a copy: after load, write what the browser decoded into the DOM.
    const probe = `<script>addEventListener('load',()=>{const i=[...document.images];document.body.insertAdjacentHTML('beforeend','<pre id="probe">'+JSON.stringify({title:document.title,decoded:i.filter(x=>x.complete&&x.naturalWidth>0).length,images:i.length,rows:document.querySelectorAll('table.results tbody tr').length,runs:document.querySelectorAll('table.runs tbody tr').length})+'</pre>')});</script>`;
    const probed = join(dir, 'probed.html');
    writeFileSync(probed, html.replace('</body>', `${probe}</body>`));
    // --virtual-time-budget: dump once the page is idle (after load), not at first parse.
    const r = spawnSync(CHROMIUM!, [...chromiumArgs(), '--virtual-time-budget=5000', '--dump-dom', `file://${probed}`], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    const m = /<pre id="probe">(\{[^<]+)<\/pre>/.exec(r.stdout);
    expect(m, r.stdout.slice(0, 500)).not.toBeNull();
    const seen = JSON.parse(m![1]!.replace(/&quot;/g, '"'));
    expect(seen.title).toBe('Noether report: run-a, run-b');
    expect(seen.images).toBe(7);
    expect(seen.decoded).toBe(7);
    expect(seen.runs).toBe(2);
    expect(seen.rows).toBe(6); // 3 models × 2 runs
  });

  it('prints integers as integers (seed 1, not 1.000)', () => {
    const seed = JSON.parse(readFileSync(join(dir, 'run-a', 'meta.json'), 'utf8')).seed;
    expect(Number.isInteger(seed)).toBe(true);
    expect(html).toContain(`<tr><td>run-a</td><td>toy-oscillator</td><td>completed</td><td>${seed}</td>`);
  });

  it('files frame grids and analysis images in their own sections, each with its .txt legend', async () => {
    const v = join(dir, 'video-like');
    cpSync(join(dir, 'run-a'), v, { recursive: true });
    const png = readFileSync(join(v, 'plots', 'loss.png'));
    // inner-steps: one plot per setting analysed, and the combined one overlaying them.
    for (const n of ['frames', 'gradcam', 'gradcam-pca', 'inner-steps', 'inner-steps-noether-adam-lr0.0001-latent']) writeFileSync(join(v, 'plots', `${n}.png`), png);
    writeFileSync(join(v, 'plots', 'frames.txt'), 'Rows of frames.png, top to bottom:\nexample 1: ground truth\nexample 1: <Noether> (tailored)\n');
    writeFileSync(join(v, 'plots', 'gradcam.txt'), 'gradcam.png: one row per test frame pair.\nPC2: no positive evidence in row 1\n');
    const out = join(dir, 'video-like.html');
    const r = await run(['report', v, '--out', out]);
    expect(r.code, r.err).toBe(0);
    const page = readFileSync(out, 'utf8');
    const section = (h: string) => page.split('<h2>').find((x) => x.startsWith(`${h}</h2>`)) ?? '';
    const captions = (h: string) => [...section(h).matchAll(/<figcaption>([^<]+)<\/figcaption>/g)].map((m) => m[1]);
    expect(captions('Metric plots')).toEqual(['training loss (all runs)', 'eval-baseline-mse', 'eval-noether-mse', 'loss']);
    expect(captions('Frame grids')).toEqual(['frames']);
    expect(captions('Analyses (noether analyze)')).toEqual(['gradcam-pca', 'gradcam', 'inner-steps-noether-adam-lr0.0001-latent', 'inner-steps']);
    expect(section('Frame grids')).toContain('<figcaption>frames</figcaption><pre class="legend">Rows of frames.png, top to bottom:\nexample 1: ground truth\nexample 1: &lt;Noether&gt; (tailored)</pre>');
    expect(section('Analyses (noether analyze)')).toContain('<figcaption>gradcam</figcaption><pre class="legend">gradcam.png: one row per test frame pair.\nPC2: no positive evidence in row 1</pre>');
    expect(page.match(/class="legend"/g)).toHaveLength(2);
  });

  it('a PNG cut short or damaged: left out with a warning naming the file and a note on the page; the other plots stay', async () => {
    const v = join(dir, 'bad-png');
    cpSync(join(dir, 'run-a'), v, { recursive: true });
    const loss = join(v, 'plots', 'loss.png');
    const png = readFileSync(loss);
    writeFileSync(loss, png.subarray(0, png.length - 20));
    const out = join(dir, 'bad-png.html');
    const r = await run(['report', v, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`warning: left out of the report, not a valid PNG: ${loss}: cut short: the file ends at byte ${png.length - 20}, inside its IDAT chunk`);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain(`<p class="missing">left out, not a valid PNG: ${loss}: cut short`);
    // The comparison plot and the run's two eval plots, not loss.png.
    expect(page.match(/<img /g)).toHaveLength(3);
  });

  it('pngProblem: a PNG core wrote passes; cut anywhere, a flipped bit, or another file fails', () => {
    const png = imageToPng(linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', x: [0, 1], y: [1, 2] }], width: 160, height: 120 }));
    expect(pngProblem(png)).toBeUndefined();
    for (const n of [0, 7, 8, 20, 33, 40, png.length - 12, png.length - 1]) expect(pngProblem(png.subarray(0, n)), `cut at ${n}`).toMatch(/^(not a PNG file|cut short)/);
    for (const at of [20, 45, png.length - 2]) {
      const bad = png.slice();
      bad[at]! ^= 1;
      expect(pngProblem(bad), `bit flipped at ${at}`).toMatch(/^damaged: the CRC of its (IHDR|IDAT|IEND) chunk/);
    }
    expect(pngProblem(new TextEncoder().encode('<html>not an image</html>'))).toBe('not a PNG file (no PNG signature)');
  });

  it('a damaged result.json or meta.json: exit 2 naming the file and the field, no page written', async () => {
    const bad = join(dir, 'bad-run');
    cpSync(join(dir, 'run-a'), bad, { recursive: true });
    const out = join(dir, 'bad.html');
    for (const [file, text, field] of [
      ['result.json', '{}', /status: .*finalLoss: .*expected record/],
      ['result.json', '{"status":"completed","finishedAt":"x","finalLoss":{"a":"low"},"steps":{},"table":[]}', /finalLoss\.a: .*expected number/],
      ['meta.json', JSON.stringify({ ...JSON.parse(readFileSync(join(bad, 'meta.json'), 'utf8')), seed: 'one' }), /seed: .*expected number/],
    ] as const) {
      const keep = readFileSync(join(bad, file), 'utf8');
      writeFileSync(join(bad, file), text);
      const r = await run(['report', bad, '--out', out]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain(`invalid ${join(bad, file)}: `);
      expect(r.err).toMatch(field);
      expect(existsSync(out)).toBe(false);
      writeFileSync(join(bad, file), keep);
    }
  });
});

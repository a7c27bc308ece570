// The model code in a real browser. core and the model plugins promise to be browser-capable
// (docs/architecture.md); scripts/check-boundaries.mjs only greps their imports. Here test/browser/
// entry.ts is bundled for the browser platform (packages from source, as the other tests take them),
// served from a throwaway server with tfjs-backend-wasm's binaries (located through selectBackend's
// wasmPaths), and run in headless Chromium on cpu and on wasm: the toy oscillator experiment
// (meta-training, evaluation) and one meta-step of the smallest SVG with the CNN embedding. The page
// POSTs its numbers back; the same workload runs here in Node, and the two must agree bit for bit.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WasmBinaryName } from '@noether/core';
import { CHROMIUM, chromiumArgs } from './helpers.js';
import { OSCILLATOR_CONFIG, runWorkload, WORKLOAD_PARTS, type WorkloadResult } from './browser/workload.js';
import type { NextPage, PageReport } from './browser/entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(here, 'browser', 'entry.ts');
/** How long the pages may take (they need a few seconds): a hung browser fails the test, not CI. */
const PAGE_TIMEOUT_MS = 90_000;

interface Bundle { code: string; external: string[]; warnings: string[] }

/** Bundles the page script as a browser would get it: the browser platform and the packages'
 * 'browser' fields (tfjs maps its Node-only files away there), nothing left external. */
async function bundlePage(): Promise<Bundle> {
  const warnings: string[] = [];
  const bundle = await rolldown({
    input: ENTRY,
    platform: 'browser',
    resolve: { conditionNames: ['@noether/source', 'browser', 'import', 'module', 'default'], mainFields: ['browser', 'module', 'main'] },
    onLog(level, log) {
      // tfjs-backend-wasm's emscripten glue uses eval; tfjs-core's modules import each other in cycles.
      if (log.code === 'EVAL' || log.code === 'CIRCULAR_DEPENDENCY') return;
      // Anything else (an unresolved 'node:fs', a missing export) is a finding.
      warnings.push(`${level} ${log.code ?? ''}: ${log.message}`);
    },
  });
  try {
    const { output } = await bundle.generate({ format: 'esm', codeSplitting: false });
    const chunk = output[0];
    return { code: chunk.code, external: chunk.imports, warnings };
  } finally {
    await bundle.close();
  }
}

/** tfjs-backend-wasm's binaries, from the copy core resolves (the one the bundle contains). */
function wasmBinaries(): Map<string, string> {
  const fromCore = createRequire(join(here, '../../../packages/core/package.json'));
  const dist = join(dirname(fromCore.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const names: WasmBinaryName[] = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return new Map(names.map((n) => [`/wasm/${n}`, join(dist, n)]));
}

/** The pages Chromium loads, one after another (each reports before the next loads): wasm's thread
 * count is fixed once it has initialised in a page, so 2 threads need a page of their own. That one
 * runs the video meta-step and the conv kernels (the part big enough for core's kernel pool to split
 * over its workers), not the oscillator: threads wait on each other at every op, and on a loaded
 * 2-core machine (load 13) the whole workload took 15 s on 2 threads against 3 s on one. */
const PAGES = [
  { backends: ['cpu', 'wasm'], wasmThreads: 1, parts: WORKLOAD_PARTS },
  { backends: ['wasm'], wasmThreads: 2, parts: ['video', 'kernels'] },
] as const;
const pagePath = (p: (typeof PAGES)[number]) => `/?backends=${p.backends.join(',')}&wasmThreads=${p.wasmThreads}&parts=${p.parts.join(',')}`;

/** What makes a page cross-origin isolated (crossOriginIsolated, hence SharedArrayBuffer, hence
 * tfjs-backend-wasm's threaded build): sent on the page and on every resource. Everything here is
 * same-origin (the pthread workers are blob: URLs, which inherit the page's policy), so no resource
 * needs a Cross-Origin-Resource-Policy header under require-corp. */
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

interface Page { url: string; reports: Promise<PageReport[]>; served: string[]; close: () => Promise<void> }

/** Serves the pages, their script and the .wasm binaries on 127.0.0.1 (a random port), cross-origin
 * isolated; `reports` resolves with what the pages POST to /result (all of them, or up to the first
 * failure). Each POST is answered with the next page of `paths` to load. */
async function servePage(code: string, paths: string[]): Promise<Page> {
  const wasm = wasmBinaries();
  const served: string[] = [];
  const got: PageReport[] = [];
  let deliver!: (r: PageReport[]) => void;
  const reports = new Promise<PageReport[]>((resolve) => (deliver = resolve));
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (type: string, body: string | Buffer) => {
      served.push(path);
      res.writeHead(200, { ...ISOLATION, 'content-type': type }).end(body);
    };
    if (req.method === 'POST' && path === '/result') {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
        const report = JSON.parse(body) as PageReport;
        got.push(report);
        const done = !report.ok || got.length === paths.length;
        const next: NextPage = done ? {} : { next: paths[got.length] };
        res.writeHead(200, { ...ISOLATION, 'content-type': 'application/json' }).end(JSON.stringify(next));
        if (done) deliver(got);
      });
    } else if (path === '/') send('text/html', '<!doctype html><meta charset="utf-8"><title>noether browser test</title><script type="module" src="/entry.js"></script>');
    else if (path === '/entry.js') send('text/javascript', code);
    // application/wasm: the type WebAssembly.instantiateStreaming requires.
    else if (wasm.has(path)) send('application/wasm', readFileSync(wasm.get(path)!));
    else res.writeHead(404, ISOLATION).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { url: `http://127.0.0.1:${port}${paths[0]}`, reports, served, close };
}

interface Browser { exited: Promise<string>; log: () => string; kill: () => void }

/** Headless Chromium on `url`, in its own process group (it forks renderers), its console on stderr. */
function launch(url: string): Browser {
  const child: ChildProcess = spawn(CHROMIUM!, [...chromiumArgs(), '--enable-logging=stderr', '--v=0', url], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-20_000)));
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`chromium exited early (${signal ?? code})`)));
  return {
    exited,
    log: () => log,
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** The pages' reports, or an error (with Chromium's log) when it exits first or takes too long. */
async function pageReports(page: Page, browser: Browser): Promise<PageReport[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no report from the page within ${PAGE_TIMEOUT_MS / 1000} s`)), PAGE_TIMEOUT_MS)));
  const early = browser.exited.then((why) => Promise.reject(new Error(why)));
  try {
    return await Promise.race([page.reports, timeout, early]);
  } catch (e) {
    throw new Error(`${(e as Error).message}; chromium log:\n${browser.log()}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The workload's numbers as the page sends them (JSON: the same doubles, exactly; only -0 reads as 0). */
const asSent = (r: WorkloadResult): WorkloadResult => JSON.parse(JSON.stringify(r));

const finite = ({ oscillator: o, video: v }: WorkloadResult) => [
  ...(o ? [...o.losses, o.untailoredMse, o.tailoredMse, o.innerBefore, ...[o.theta, o.phi].flatMap((p) => Object.values(p).flat())] : []),
  ...(v ? [v.loss, v.gradNormTheta, v.gradNormPhi, ...[v.theta, v.phi].flatMap((p) => Object.values(p).flat())] : []),
].every(Number.isFinite);

describe('model code in headless Chromium', () => {
  let bundle: Bundle;
  beforeAll(async () => {
    bundle = await bundlePage();
  });

  it('bundles for the browser with no Node module: nothing unresolved, nothing left external', () => {
    expect(bundle.warnings).toEqual([]);
    expect(bundle.external).toEqual([]);
  });

  it.skipIf(!CHROMIUM)(`runs on cpu, wasm and wasm on 2 threads, leaks no tensor, and matches Node bit for bit${CHROMIUM ? '' : ' (skipped: no /usr/bin/chromium; the CI script installs it)'}`, async () => {
    const page = await servePage(bundle.code, PAGES.map(pagePath));
    const browser = launch(page.url);
    try {
      // Node's side meanwhile (the pages run in other processes): the same workload on cpu, then on
      // wasm (single-threaded, as Node runs it by default).
      const node: WorkloadResult[] = [];
      for (const b of ['cpu', 'wasm'] as const) node.push(asSent(await runWorkload(b)));
      const reports = await pageReports(page, browser);
      for (const r of reports) if (!r.ok) expect.fail(`a page failed: ${r.error}`);
      const ok = reports.filter((r) => r.ok);
      expect(ok).toHaveLength(PAGES.length);
      // The headers took: SharedArrayBuffer, and with it the threaded build, was there to be had.
      expect(ok.map((r) => r.crossOriginIsolated)).toEqual(PAGES.map(() => true));
      const [[cpu, wasm1], [wasm2]] = ok.map((r) => r.results) as [WorkloadResult[], WorkloadResult[]];
      expect(ok.map((r) => r.results.map((x) => x.backend))).toEqual(PAGES.map((p) => [...p.backends]));

      // Each page fetched the one binary its thread count calls for, where wasmPaths said: 1 thread
      // the single-threaded SIMD build even though the page could run threads, 2 the threaded one.
      expect(page.served.filter((p) => p.startsWith('/wasm/'))).toEqual(['/wasm/tfjs-backend-wasm-simd.wasm', '/wasm/tfjs-backend-wasm-threaded-simd.wasm']);
      expect(wasm1!.threads).toBe(1);
      // 2 threads: core's kernel pool, its workers made from blob: URLs, ran the convs and products.
      expect(wasm2!.threads).toBe(2);
      expect(wasm2!.pool).toMatchObject({ threads: 2, started: true });
      expect(wasm2!.pool!.dispatched).toBeGreaterThan(0);
      expect(wasm1!.pool).toBeUndefined();

      const { epochs, batchSize } = OSCILLATOR_CONFIG.outer;
      for (const r of [cpu!, wasm1!, wasm2!]) {
        if (r.oscillator) expect(r.oscillator.losses).toHaveLength(epochs * (OSCILLATOR_CONFIG.dataset.nTrain / batchSize));
        expect(finite(r), JSON.stringify(r)).toBe(true);
        // The step did move the parameters: gradients reached θ and φ.
        expect(r.video!.gradNormTheta).toBeGreaterThan(0);
        expect(r.video!.gradNormPhi).toBeGreaterThan(0);
        expect(r.tensorsAfter, `tensors leaked on ${r.backend}, ${r.threads ?? 1} thread(s)`).toBe(r.tensorsBefore);
      }
      // Same code, seed and backend → the same floats: the browser is no different platform for
      // the model code (cpu: the same JS kernels; wasm: the same SIMD kernels); and XNNPACK splits
      // outputs across threads, each still summed by one thread in the same order.
      expect(cpu).toEqual(node[0]);
      expect(wasm1).toEqual(node[1]);
      expect(wasm2).toEqual({ ...node[1], threads: 2, pool: wasm2!.pool, oscillator: undefined });
    } finally {
      browser.kill();
      await page.close();
    }
  }, PAGE_TIMEOUT_MS + 60_000);
});

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
import { OSCILLATOR_CONFIG, runWorkload, type WorkloadResult } from './browser/workload.js';
import type { PageReport } from './browser/entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(here, 'browser', 'entry.ts');
/** How long the page may take (it needs a few seconds): a hung browser fails the test, not CI. */
const PAGE_TIMEOUT_MS = 90_000;
const BACKENDS = ['cpu', 'wasm'] as const;

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

interface Page { url: string; report: Promise<PageReport>; served: string[]; close: () => Promise<void> }

/** Serves the page, its script and the .wasm binaries on 127.0.0.1 (a random port); `report`
 * resolves with what the page POSTs to /result. */
async function servePage(code: string): Promise<Page> {
  const wasm = wasmBinaries();
  const served: string[] = [];
  let deliver!: (r: PageReport) => void;
  const report = new Promise<PageReport>((resolve) => (deliver = resolve));
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (type: string, body: string | Buffer) => {
      served.push(path);
      res.writeHead(200, { 'content-type': type }).end(body);
    };
    if (req.method === 'POST' && path === '/result') {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
        res.writeHead(204).end();
        deliver(JSON.parse(body) as PageReport);
      });
    } else if (path === '/') send('text/html', '<!doctype html><meta charset="utf-8"><title>noether browser test</title><script type="module" src="/entry.js"></script>');
    else if (path === '/entry.js') send('text/javascript', code);
    // application/wasm: the type WebAssembly.instantiateStreaming requires.
    else if (wasm.has(path)) send('application/wasm', readFileSync(wasm.get(path)!));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { url: `http://127.0.0.1:${port}/`, report, served, close };
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

/** The page's report, or an error (with Chromium's log) when it exits first or takes too long. */
async function pageReport(page: Page, browser: Browser): Promise<PageReport> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no report from the page within ${PAGE_TIMEOUT_MS / 1000} s`)), PAGE_TIMEOUT_MS)));
  const early = browser.exited.then((why) => Promise.reject(new Error(why)));
  try {
    return await Promise.race([page.report, timeout, early]);
  } catch (e) {
    throw new Error(`${(e as Error).message}; chromium log:\n${browser.log()}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The workload's numbers as the page sends them (JSON: the same doubles, exactly; only -0 reads as 0). */
const asSent = (r: WorkloadResult): WorkloadResult => JSON.parse(JSON.stringify(r));

const finite = (r: WorkloadResult) => [
  ...r.oscillator.losses, r.oscillator.untailoredMse, r.oscillator.tailoredMse, r.oscillator.innerBefore,
  r.video.loss, r.video.gradNormTheta, r.video.gradNormPhi,
  ...[r.oscillator.theta, r.oscillator.phi, r.video.theta, r.video.phi].flatMap((p) => Object.values(p).flat()),
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

  it.skipIf(!CHROMIUM)(`runs on cpu and wasm, leaks no tensor, and matches Node bit for bit${CHROMIUM ? '' : ' (skipped: no /usr/bin/chromium; the CI script installs it)'}`, async () => {
    const page = await servePage(bundle.code);
    const browser = launch(page.url);
    try {
      // Node's side meanwhile (the page runs in other processes): the same workload, backends and order.
      const node: WorkloadResult[] = [];
      for (const b of BACKENDS) node.push(asSent(await runWorkload(b)));
      const report = await pageReport(page, browser);
      if (!report.ok) expect.fail(`the page failed: ${report.error}`);
      const inBrowser = report.results;

      expect(inBrowser.map((r) => r.backend)).toEqual([...BACKENDS]);
      // wasm found its binary where selectBackend's wasmPaths said (the page is not cross-origin
      // isolated, so tfjs picks the single-threaded SIMD build).
      expect(page.served).toContain('/wasm/tfjs-backend-wasm-simd.wasm');
      const { epochs, batchSize } = OSCILLATOR_CONFIG.outer;
      for (const r of inBrowser) {
        expect(r.oscillator.losses).toHaveLength(epochs * (OSCILLATOR_CONFIG.dataset.nTrain / batchSize));
        expect(finite(r), JSON.stringify(r)).toBe(true);
        // The step did move the parameters: gradients reached θ and φ.
        expect(r.video.gradNormTheta).toBeGreaterThan(0);
        expect(r.video.gradNormPhi).toBeGreaterThan(0);
        expect(r.tensorsAfter, `tensors leaked on ${r.backend}`).toBe(r.tensorsBefore);
      }
      // Same code, seed and backend → the same floats: the browser is no different platform for
      // the model code (cpu: the same JS kernels; wasm: the same SIMD binary).
      expect(inBrowser[0]).toEqual(node[0]);
      expect(inBrowser[1]).toEqual(node[1]);
    } finally {
      browser.kill();
      await page.close();
    }
  }, PAGE_TIMEOUT_MS + 60_000);
});

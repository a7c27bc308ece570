// The page script of test/browser.test.ts: runs the workload on cpu, then on wasm (whose .wasm
// files the test's server serves under /wasm/), and POSTs the results — or the error — to /result.
import { runWorkload, type WorkloadResult } from './workload.js';

export type PageReport = { ok: true; results: WorkloadResult[] } | { ok: false; error: string };

let sent = false;
async function send(r: PageReport): Promise<void> {
  if (sent) return;
  sent = true;
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r) });
}
const fail = (e: unknown) => send({ ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
// Errors outside the awaited chain (a rejected promise nobody awaits) are failures too.
addEventListener('error', (ev) => void fail(ev.error ?? ev.message));
addEventListener('unhandledrejection', (ev) => void fail(ev.reason));

try {
  const results: WorkloadResult[] = [];
  for (const backend of ['cpu', 'wasm'] as const) results.push(await runWorkload(backend, new URL('/wasm/', location.href).href));
  await send({ ok: true, results });
} catch (e) {
  await fail(e);
}

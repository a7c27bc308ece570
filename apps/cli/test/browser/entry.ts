// The page script of test/browser.test.ts: runs the workload (or the parts its URL names) on the
// backends its URL names (?backends=cpu,wasm&wasmThreads=N[&parts=video]; wasm finds its .wasm files
// under /wasm/ on the test's server), and POSTs the results — or the error — to /result. The server
// answers with the next page to load, if any: wasm's thread count is fixed once it has initialised,
// so each count needs a page of its own.
import type { BackendName } from '@noether/core';
import { runWorkload, WORKLOAD_PARTS, type WorkloadPart, type WorkloadResult } from './workload.js';

export type PageReport =
  | { ok: true; crossOriginIsolated: boolean; results: WorkloadResult[] }
  | { ok: false; error: string };

/** What /result answers: the URL to load next, or none. */
export interface NextPage { next?: string }

let sent = false;
async function send(r: PageReport): Promise<void> {
  if (sent) return;
  sent = true;
  const res = await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r) });
  const { next } = (await res.json()) as NextPage;
  if (next) location.assign(next);
}
const fail = (e: unknown) => send({ ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
// Errors outside the awaited chain (a rejected promise nobody awaits) are failures too.
addEventListener('error', (ev) => void fail(ev.error ?? ev.message));
addEventListener('unhandledrejection', (ev) => void fail(ev.reason));

try {
  const query = new URLSearchParams(location.search);
  const backends = (query.get('backends') ?? '').split(',') as BackendName[];
  const opts = {
    wasmPaths: new URL('/wasm/', location.href).href,
    wasmThreads: Number(query.get('wasmThreads') ?? 1),
    parts: (query.get('parts')?.split(',') ?? WORKLOAD_PARTS) as WorkloadPart[],
  };
  const results: WorkloadResult[] = [];
  for (const backend of backends) results.push(await runWorkload(backend, opts));
  await send({ ok: true, crossOriginIsolated, results });
} catch (e) {
  await fail(e);
}

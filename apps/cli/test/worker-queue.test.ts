// The job queue under discover's search and meta-tailoring pools (src/discover/worker-queue.ts),
// with tiny workers given as data: URLs. A worker that dies mid-job without a message (out of
// memory, process.exit) must fail the run naming the job: before the queue was shared, the search
// pool did not listen for 'exit' and waited for ever.
import { describe, expect, it } from 'vitest';
import { runQueue, type QueueOptions } from '../src/discover/worker-queue.js';

/** A worker that answers job i with { done: i } after `ms`, and runs `special` for job `on`. */
const worker = (special = '', on = -1, ms = 0) => new URL('data:text/javascript,' + encodeURIComponent(
  `import { parentPort } from 'node:worker_threads';
   parentPort.on('message', (i) => {
     if (i === ${on}) { ${special} }
     setTimeout(() => parentPort.postMessage({ progress: i }), 0);
     setTimeout(() => parentPort.postMessage({ done: i }), ${ms});
   });`));

function queue(url: URL, jobs: number, extra: Partial<QueueOptions> = {}) {
  const done: number[] = [];
  const run = runQueue({
    url, workers: 2, jobs, label: (i) => `job ${i}`,
    post: (i) => i,
    read: (m) => {
      const r = m as { done?: number; error?: string };
      if (r.error) return { error: r.error };
      if (r.done === undefined) return undefined;
      done.push(r.done);
      return 'done';
    },
    ...extra,
  });
  return { run, done };
}

describe('runQueue', () => {
  it('runs every job once over the workers', async () => {
    const { run, done } = queue(worker(), 7);
    await expect(run).resolves.toEqual({ workers: 2, stopped: false });
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('fails, naming the job, when a worker exits mid-job', async () => {
    const { run } = queue(worker('process.exit(3);', 4), 7);
    await expect(run).rejects.toThrow('job 4 failed in a worker: the worker exited (code 3)');
  });

  it('fails, naming the job, when a worker throws or reports an error', async () => {
    await expect(queue(worker("throw new Error('boom');", 2), 5).run).rejects.toThrow('job 2 failed in a worker: boom');
    await expect(queue(worker("parentPort.postMessage({ error: 'bad fit' }); return;", 1), 5).run).rejects.toThrow('job 1 failed in a worker: bad fit');
  });

  it('stops at once on abort, terminating the workers', async () => {
    const ac = new AbortController();
    const { run, done } = queue(worker('', -1, 60_000), 4, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    await expect(run).resolves.toEqual({ workers: 2, stopped: true });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(done).toEqual([]);
  });
});

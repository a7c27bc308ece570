// A meta-tailoring worker (meta-pool.ts): selects the main thread's tfjs backend (importing
// @noether/core installs the second-order fixes), then runs the jobs it is sent one at a time and
// posts their progress and outcomes back.
import { parentPort, workerData } from 'node:worker_threads';
import { tf, selectBackend, type BackendName } from '@noether/core';
import { metaRunner, type FromWorker, type MetaContext, type ToWorker } from './meta-pool.js';

const { ctx, prod } = workerData as { ctx: MetaContext; prod: boolean };
tf.env().set('PROD', prod);
// One wasm thread: the workers are the parallelism (threaded wasm gives the same numbers).
const runner = selectBackend({ backend: ctx.backend as BackendName, quiet: true }).then(() => metaRunner(ctx));
const post = (m: FromWorker) => parentPort!.postMessage(m);

// No abort signal: on Ctrl-C the main thread terminates the worker (meta-pool.ts).
parentPort!.on('message', (m: ToWorker) => {
  const { index, job } = m;
  runner
    .then((r) => r.run(job, undefined, (step, total, loss) => post({ kind: 'step', index, step, total, loss })))
    .then((result) => post({ kind: 'done', index, result }), (e: Error) => post({ kind: 'error', index, error: e?.message ?? String(e) }));
});

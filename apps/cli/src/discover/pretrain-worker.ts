// A pre-training worker (pretrain-pool.ts): selects the main thread's tfjs backend, pre-trains,
// posts progress and the parameters back.
import { parentPort, workerData } from 'node:worker_threads';
import { tf, selectBackend, type BackendName } from '@noether/core';
import { pretrainHere, type FromPretrainWorker, type PretrainJob } from './pretrain-pool.js';

const { job, prod } = workerData as { job: PretrainJob; prod: boolean };
tf.env().set('PROD', prod);
const post = (m: FromPretrainWorker) => parentPort!.postMessage(m);
selectBackend({ backend: job.backend as BackendName, quiet: true })
  .then(() => {
    const r = pretrainHere(job, (p) => post({ kind: 'progress', ...p }));
    post({ kind: 'done', params: r.params, losses: r.losses });
  })
  .catch((e: Error) => post({ kind: 'error', error: e?.message ?? String(e) }));

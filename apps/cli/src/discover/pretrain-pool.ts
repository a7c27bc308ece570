// Pre-training (the MLP and the HNN baseline) on a worker thread. pretrain() is one synchronous
// loop of hundreds to thousands of steps, during which the main thread could not see a Ctrl-C;
// on a worker the main thread stays free, and an interrupt terminates the worker at once. The
// numbers are the same as in-process (same backend, same seed). In-process when running from
// TypeScript sources (no compiled worker) and on the native backend (meta-pool.ts says why).
import { Worker } from 'node:worker_threads';
import { tf, disposeParams, type Params } from '@noether/core';
import { VectorFieldPredictor, pretrain, type FieldKind, type Integrator } from '@noether/predictors-mlp';
import { fromPlain, toPlain, type PlainParams } from './meta-pool.js';
import { compiledWorker } from './worker-queue.js';

export interface PretrainJob {
  /** tf.getBackend() of the main thread; the worker selects the same one. */
  backend: string;
  kind: FieldKind;
  field: { dt: number; hidden: number; stateDim: number; integrator: Integrator };
  seed: number;
  /** (x, dx/dt) pairs, n × field.stateDim each. */
  pairs: { x: Float32Array; dxdt: Float32Array; n: number };
  steps: number;
  lr: number;
  weightDecay: number;
}

export type Progress = (p: { step: number; steps: number; loss: number }) => void;

/** Pre-trains in this thread: the worker's body and the in-process path. */
export function pretrainHere(job: PretrainJob, onProgress?: Progress): { params: PlainParams; losses: number[] } {
  const predictor = new VectorFieldPredictor(job.kind, job.field);
  const init = predictor.init(job.seed);
  const D = job.field.stateDim;
  const pairs = { x: tf.tensor2d(job.pairs.x, [job.pairs.n, D]), dxdt: tf.tensor2d(job.pairs.dxdt, [job.pairs.n, D]) };
  try {
    const r = pretrain(predictor, init, pairs, { steps: job.steps, lr: job.lr, weightDecay: job.weightDecay, onProgress });
    const params = toPlain(r.params);
    disposeParams(r.params);
    return { params, losses: r.losses };
  } finally {
    disposeParams(init);
    tf.dispose([pairs.x, pairs.dxdt]);
  }
}

/** Main thread → worker: the job. Worker → main thread: */
export type FromPretrainWorker =
  | { kind: 'progress'; step: number; steps: number; loss: number }
  | { kind: 'done'; params: PlainParams; losses: number[] }
  | { kind: 'error'; error: string };

/** Pre-trains on a worker when one can run; undefined when `signal` aborted (Ctrl-C) first. */
export async function runPretrain(job: PretrainJob, o: { signal?: AbortSignal; onProgress?: Progress }): Promise<{ params: Params; losses: number[] } | undefined> {
  const url = compiledWorker('./pretrain-worker.js');
  if (!url || job.backend === 'tensorflow') {
    const r = pretrainHere(job, o.onProgress);
    return o.signal?.aborted ? undefined : { params: fromPlain(r.params), losses: r.losses };
  }
  if (o.signal?.aborted) return undefined;
  const w = new Worker(url, { workerData: { job, prod: tf.env().getBool('PROD') } });
  try {
    return await new Promise((resolve, reject) => {
      o.signal?.addEventListener('abort', () => resolve(undefined), { once: true });
      w.on('message', (m: FromPretrainWorker) => {
        if (m.kind === 'progress') return o.onProgress?.(m);
        if (m.kind === 'error') return reject(new Error(m.error));
        resolve({ params: fromPlain(m.params), losses: m.losses });
      });
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`pre-training failed: its worker exited (code ${code})`)));
    });
  } finally {
    await w.terminate();
  }
}

// A search worker: fits the chunks it is sent and posts each chunk's ShardResult back.
import { parentPort } from 'node:worker_threads';
import { runChunk, type ChunkJob } from './search-pool.js';

// Terminated by the main thread when the queue is empty (worker-queue.ts).
parentPort!.on('message', (msg: { job: ChunkJob; chunk: number }) => {
  try {
    const result = runChunk(msg.job, msg.chunk, (done, total) => parentPort!.postMessage({ progress: { chunk: msg.chunk, done, total } }));
    parentPort!.postMessage({ chunk: msg.chunk, result });
  } catch (e) {
    parentPort!.postMessage({ chunk: msg.chunk, error: (e as Error).message });
  }
});

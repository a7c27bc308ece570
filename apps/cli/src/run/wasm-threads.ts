// Opt-in multithreaded tfjs wasm in Node (--wasm-threads N, NOETHER_WASM_THREADS). tfjs-backend-wasm
// runs its threaded-SIMD build only where WASM_HAS_MULTITHREAD_SUPPORT holds, never in Node
// (tensorflow/tfjs#3830). core's selectBackend forces that flag and calls installWasmThreadShim (its
// beforeWasmInit hook) just before wasm initialises; the shim lets the emscripten glue
// (dist/tf-backend-wasm.node.js) start its pthreads as Node worker_threads:
// - the glue runs `new Worker(blobUrl)` with global.Worker = require('worker_threads').Worker, and
//   Node refuses blob: URLs: a Worker subclass runs the worker source (wasmWorkerContents) instead;
// - it posts the main script as a Blob (mainScriptUrlOrBlob), which the worker's importScripts
//   (fs.readFileSync) cannot read: the subclass posts the path of the same script;
// - it ref()s a worker while it runs a pthread, and XNNPACK's pool threads never end: ref() is a
//   no-op for these workers, else the process would never exit;
// - backend.cc caps the pool at emscripten_num_logical_cores()/2 = os.cpus().length/2 (os.cpus()
//   ignores taskset and cgroups): os.cpus() reports exactly 2×N cpus until wasm has initialised.
// The glue pre-spawns 8 workers whatever N is: about +80 MB and +1 s at start-up.
import { createRequire } from 'node:module';
import type { Transferable, Worker as NodeWorkerClass, WorkerOptions } from 'node:worker_threads';
import type { CpuInfo } from 'node:os';

// The CommonJS module objects themselves: the tfjs bundle reads Worker and cpus off them.
const require = createRequire(import.meta.url);
const workerThreads = require('node:worker_threads') as { Worker: typeof NodeWorkerClass };
const os = require('node:os') as { cpus(): CpuInfo[] };
const NodeWorker = workerThreads.Worker;
const realCpus = os.cpus;

interface ThreadedBuild {
  /** Path of the threaded-SIMD glue, which every pthread worker loads. */
  script: string;
  /** The pthread worker's source, escaped as tfjs escapes it for its Blob. */
  workerSource: string;
}
let build: ThreadedBuild | undefined;

function threadedBuild(): ThreadedBuild {
  if (!build) {
    const base = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';
    try {
      const { wasmWorkerContents } = require(`${base}.worker.js`) as { wasmWorkerContents: string };
      build = { script: require.resolve(`${base}.js`), workerSource: wasmWorkerContents.replace(/\n/g, '\\n') };
    } catch (e) {
      const why = String((e as Error).message).split('\n')[0];
      throw new Error(`wasm threads: cannot load tfjs-backend-wasm's threaded build (${why}); reinstall @tensorflow/tfjs-backend-wasm@4.22.0`);
    }
  }
  return build;
}

class TfjsPthreadWorker extends NodeWorker {
  private readonly pthread: boolean;
  constructor(url: string | URL, opts?: WorkerOptions) {
    const pthread = typeof url === 'string' && url.startsWith('blob:');
    super(pthread ? threadedBuild().workerSource : url, pthread ? { eval: true } : opts);
    this.pthread = pthread;
    if (pthread) URL.revokeObjectURL(url as string);
  }
  override postMessage(value: unknown, transferList?: readonly Transferable[]): void {
    const msg = value as { cmd?: string; urlOrBlob?: unknown } | null;
    if (this.pthread && msg?.cmd === 'load' && typeof msg.urlOrBlob !== 'string') value = { ...msg, urlOrBlob: threadedBuild().script };
    if (transferList === undefined) super.postMessage(value);
    else super.postMessage(value, transferList);
  }
  override ref(): void {
    if (!this.pthread) super.ref();
  }
}

/**
 * core's beforeWasmInit for Node: makes the threaded wasm build start `threads` threads. Returns the
 * undo (restores worker_threads.Worker and os.cpus); workers already made keep the subclass.
 */
export function installWasmThreadShim(threads: number): () => void {
  threadedBuild(); // fail here, in one line, rather than inside the emscripten glue
  workerThreads.Worker = TfjsPthreadWorker;
  os.cpus = () => {
    const real = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  };
  return () => {
    workerThreads.Worker = NodeWorker;
    os.cpus = realCpus;
  };
}

/** core's spawnWorker for Node: a worker_threads worker from source, unref'd (its workers sleep in
 * Atomics.wait between kernels and must not keep the process alive). */
export function spawnKernelWorker(source: string): InstanceType<typeof NodeWorker> {
  const w = new NodeWorker(source, { eval: true });
  w.unref();
  return w;
}

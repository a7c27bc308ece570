// Picks the fastest tfjs backend that is installed: native TensorFlow (tfjs-node-gpu, tfjs-node;
// optional peer dependencies), else wasm, else cpu. NOETHER_BACKEND (or opts.backend) forces one.
// Browser-capable: no static Node import; the native packages are imported by computed
// specifiers so bundlers and tsc never require them. opts.wasmThreads > 1 runs wasm on several
// threads, with a platform hook (beforeWasmInit) where tfjs cannot start them itself (Node); in a
// browser tfjs starts them itself in a cross-origin isolated page.
// In a browser bundle, opts.wasmPaths says where the page serves tfjs-backend-wasm's .wasm files.
import { tf } from '../tf.js';
import { checkSecondOrderFixes, installSecondOrderFixes } from '../second-order/install.js';
import { kernelPoolModules, registerWasmKernels } from './wasm-kernels.js';
import { wasmHeap } from './wasm-asm.js';
import { createKernelPool, kernelPoolFor, setKernelPool, type SpawnKernelWorker } from './wasm-pool.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  /** The backend now active (tf.getBackend()). */
  name: BackendName;
  /** Why it was chosen, e.g. 'forced by NOETHER_BACKEND' or 'fastest installed'. */
  reason: string;
  /** Which backends could be loaded (only those probed: a forced choice probes itself). */
  available: Partial<Record<BackendName, boolean>>;
  /** For 'tensorflow': the package that provided it. */
  nativePackage?: string;
  /** For 'wasm': the threads it runs on (core's kernel pool where one runs, else XNNPACK's: tfjs-backend-wasm getThreadsCount()). */
  threads?: number;
  /** Set when opts.wasmThreads asked for more than 1 thread and did not get them, saying why. */
  note?: string;
}

export interface SelectOptions {
  backend?: BackendName;
  /** No console line about the choice. */
  quiet?: boolean;
  /**
   * wasm only: threads (default 1, the single-threaded SIMD build, also where threads could run).
   * More than 1 loads tfjs-backend-wasm's threaded-SIMD build and runs core's own kernels (matrix
   * product, conv2d and its gradients) on that many threads (see spawnWorker; results are
   * bit-identical to 1 thread); without a way to make workers, XNNPACK's kernels get the threads
   * instead. tfjs turns the threaded build off in Node (tensorflow/tfjs#3830): there
   * `beforeWasmInit` has to make it work (the CLI passes its
   * worker_threads shim). In a browser it runs where the page is cross-origin isolated
   * (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), with the
   * count asked for even above navigator.hardwareConcurrency / 2 (tfjs's own cap). Only the first
   * initialisation of wasm in a process (page) counts. Pays where the cores are free (bench/README.md).
   */
  wasmThreads?: number;
  /**
   * Called with wasmThreads (> 1) just before the wasm backend initialises: installs what the
   * platform needs to run the threaded build, and may return an undo, called once wasm has
   * initialised (or failed to). Given, it also forces tfjs's WASM_HAS_MULTITHREAD_SUPPORT flag;
   * without it tfjs's own detection decides (browsers: cross-origin isolated pages only).
   */
  beforeWasmInit?: (threads: number) => (() => void) | void;
  /**
   * wasm only: where tfjs-backend-wasm's .wasm binaries are served (passed to its setWasmPaths):
   * a URL prefix ending in '/' (e.g. '/wasm/' holding tfjs-backend-wasm{,-simd,-threaded-simd}.wasm,
   * copied from node_modules/@tensorflow/tfjs-backend-wasm/dist/), or a map from each of those
   * three file names to its URL. Needed in a browser bundle: without it the emscripten glue looks
   * for them next to the page. Node finds them itself (leave it unset there). Only the first
   * initialisation of wasm counts, as for wasmThreads.
   */
  wasmPaths?: string | Record<WasmBinaryName, string>;
  /**
   * wasm with wasmThreads > 1: makes a worker from JavaScript source, for the pool that runs core's
   * own kernels (matrix product, conv gradients) on wasmThreads threads over the shared heap. Node:
   * pass worker_threads (the CLI does: `(src) => new Worker(src, { eval: true })`, unref'd); a
   * browser's Worker is used when not given. Without either, those kernels run on one thread.
   */
  spawnWorker?: SpawnKernelWorker;
}

/** The binaries tfjs-backend-wasm chooses from (plain, SIMD, threaded SIMD). */
export type WasmBinaryName = 'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

const NATIVE_PACKAGES = ['tfjs-node-gpu', 'tfjs-node'];
const INSTALL_HINT: Record<BackendName, string> = {
  tensorflow:
    'npm install @tensorflow/tfjs-node@4.22.0 (CPU) or @tensorflow/tfjs-node-gpu@4.22.0 (needs CUDA 11.2 + cuDNN 8.1); ' +
    'both download libtensorflow at install time (TFJS_NODE_BASE_URI overrides the URL)',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0 (a dependency of @noether/core; in a browser bundle, serve its .wasm files and pass their location as selectBackend({ wasmPaths }))',
  cpu: '@tensorflow/tfjs-backend-cpu is a dependency of @noether/core and always present',
};

// Computed so that bundlers / tsc do not try to resolve optional packages.
const dynamicImport = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

let nativeProbe: Promise<string | null> | undefined;
let wasmProbe: Promise<boolean> | undefined;
let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | undefined;
/** Set when the threaded wasm build failed to initialise and wasm fell back to one thread. */
let threadedWasmFailed = false;

/** Loads tfjs-node-gpu or tfjs-node; resolves to the package name, or null if neither loads. */
function loadNative(): Promise<string | null> {
  nativeProbe ??= (async () => {
    for (const pkg of NATIVE_PACKAGES) {
      try {
        await dynamicImport(['@tensorflow', pkg].join('/'));
        // tfjs-node imports @tensorflow/tfjs, whose register_all_gradients silently replaces the
        // second-order fixes in the (global) gradient registry: put them back.
        installSecondOrderFixes();
        if (tf.findBackendFactory('tensorflow')) return pkg;
      } catch {
        // not installed, or libtensorflow failed to load: try the next one
      }
    }
    return null;
  })();
  return nativeProbe;
}

function loadWasm(): Promise<boolean> {
  wasmProbe ??= (async () => {
    try {
      wasmModule = await import('@tensorflow/tfjs-backend-wasm');
      registerWasmKernels();
      return tf.findBackendFactory('wasm') != null;
    } catch {
      return false;
    }
  })();
  return wasmProbe;
}

async function probe(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') return (await loadNative()) != null;
  if (name === 'wasm') return loadWasm();
  return tf.findBackendFactory('cpu') != null;
}

/** Which backends can be loaded here (loading them registers them with tfjs, without switching). */
export async function listBackends(): Promise<Record<BackendName, boolean>> {
  const current = tf.getBackend();
  const out = {} as Record<BackendName, boolean>;
  for (const n of BACKEND_NAMES) out[n] = await probe(n);
  // Registering a higher-priority backend must not switch an already chosen one.
  if (current && tf.getBackend() !== current) await tf.setBackend(current);
  return out;
}

/**
 * In a browser, makes navigator.hardwareConcurrency read 2 × threads until wasm has initialised, and
 * returns the undo. tfjs-backend-wasm caps its pool at hardwareConcurrency / 2 (it assumes two
 * hyperthreads a core), so a 2-core machine would get 1 thread whatever was asked. Node's
 * counterpart (os.cpus) is the CLI's beforeWasmInit.
 */
function browserCores(threads: number): (() => void) | undefined {
  const nav = (globalThis as { navigator?: object }).navigator;
  if (tf.env().getBool('IS_NODE') || !nav) return undefined;
  // An own property shadows Navigator.prototype's getter; deleting it brings the real count back.
  const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency');
  Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  return () => {
    if (own) Object.defineProperty(nav, 'hardwareConcurrency', own);
    else delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

/** tf.setBackend(name), first setting up wasm's binary locations and threads when opts asks for
 * them (see wasmPaths, wasmThreads). */
async function activate(name: BackendName, opts: SelectOptions): Promise<boolean> {
  const threads = opts.wasmThreads ?? 1;
  // Threads and binary locations are fixed when wasm first initialises (tfjs keeps that backend for
  // the process).
  const wasm = name === 'wasm' && !(name in tf.engine().registry) ? wasmModule : undefined;
  if (wasm && opts.wasmPaths !== undefined) wasm.setWasmPaths(opts.wasmPaths);
  if (!wasm) return tf.setBackend(name);
  if (threads <= 1) {
    // The single-threaded SIMD build, also in a cross-origin isolated page, where tfjs's own
    // detection would pick the threaded build with navigator.hardwareConcurrency / 2 threads.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return tf.setBackend(name);
  }
  // With core's kernel pool (threads > 1 where workers can be made), XNNPACK keeps one thread: its
  // pool spin-waits between kernels, and on a 2-core machine that took the core our workers needed
  // (bench/README.md, session 12). The conv and matrix kernels that matter run on core's pool.
  wasm.setThreadsCount(canSpawnWorkers(opts) ? 1 : threads);
  let undo: (() => void) | void = undefined;
  if (opts.beforeWasmInit) {
    // Read by tfjs-backend-wasm's init(), so it must be set after the import registered the flag.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    undo = opts.beforeWasmInit(threads);
  }
  const undoCores = browserCores(threads);
  try {
    if (await tf.setBackend(name)) return true;
  } finally {
    undo?.();
    undoCores?.();
  }
  // tfjs logged why (unless PROD is set); the single-threaded build still works.
  threadedWasmFailed = true;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  return tf.setBackend(name);
}

/** Whether core's kernel pool can make workers: a spawn hook, or a browser's Worker. */
function canSpawnWorkers(opts: SelectOptions): boolean {
  return opts.spawnWorker !== undefined || (typeof (globalThis as { Worker?: unknown }).Worker === 'function' && !tf.env().getBool('IS_NODE'));
}

/** For wasm: the thread count in use, and a note when fewer than opts.wasmThreads were obtained. */
function wasmThreadsReport(opts: SelectOptions, fresh: boolean, poolThreads: number | undefined): Pick<BackendChoice, 'threads' | 'note'> {
  const threads = Math.max(poolThreads ?? 1, wasmModule!.getThreadsCount());
  const asked = opts.wasmThreads ?? 1;
  if (threads >= asked) return { threads };
  let why = 'the threaded wasm build is unavailable here (browsers: the page must be cross-origin isolated, i.e. served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  if (!fresh) why = 'wasm was already initialised in this process, and its thread count is fixed then';
  else if (threadedWasmFailed) why = 'the threaded wasm build failed to initialise (tfjs logs why unless its PROD flag is set)';
  else if (threads > 1) why = `tfjs-backend-wasm runs at most ${threads} threads`;
  else if (canSpawnWorkers(opts) && wasmHeap(tf.backend())?.buffer instanceof SharedArrayBuffer) why = 'the workers of core\'s kernel pool could not be started';
  else if (!opts.beforeWasmInit && tf.env().getBool('IS_NODE')) why = 'tfjs runs wasm single-threaded in Node unless beforeWasmInit installs a worker_threads shim';
  return { threads, note: `${asked} wasm threads requested, ${threads} in use: ${why}` };
}

/** Core's kernel pool on the active wasm backend (selectBackend with wasmThreads > 1): its threads,
 * whether its workers have started, and how many kernel calls it has split over them so far. */
export function wasmKernelPool(): { threads: number; started: boolean; dispatched: number } | undefined {
  const heap = tf.getBackend() === 'wasm' ? wasmHeap(tf.backend()) : undefined;
  const pool = heap && kernelPoolFor(heap);
  return pool && { threads: pool.threads, started: pool.started(), dispatched: pool.dispatched };
}

/** With a threaded (shared) wasm heap: core's kernel pool over it, once per heap; its thread count. */
function startKernelPool(threads: number, spawn?: SpawnKernelWorker): number | undefined {
  const heap = wasmHeap(tf.backend());
  if (!heap) return undefined;
  let pool = kernelPoolFor(heap);
  if (!pool && threads > 1) {
    const modules = kernelPoolModules();
    pool = modules && createKernelPool(heap, threads, modules, spawn);
    setKernelPool(heap, pool);
  }
  return pool?.threads;
}

function envBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.['NOETHER_BACKEND']?.trim().toLowerCase() || undefined;
}

/**
 * Activates a backend: opts.backend, else NOETHER_BACKEND, else the fastest installed
 * (tensorflow > wasm > cpu). A forced backend that cannot be loaded is an error naming it and how
 * to install it. The second-order gradient fixes are re-checked afterwards (they are
 * backend-independent gradient registrations, so they hold on every backend).
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<BackendChoice> {
  const wasmThreads = opts.wasmThreads ?? 1;
  if (!Number.isInteger(wasmThreads) || wasmThreads < 1) throw new Error(`wasmThreads must be an integer >= 1, got ${wasmThreads}`);
  const wasmFresh = !('wasm' in tf.engine().registry);
  // Names are case-insensitive; an empty one means none was given (then NOETHER_BACKEND decides).
  const requested = opts.backend?.trim().toLowerCase() || undefined;
  const forced = requested ?? envBackend();
  const source = requested ? 'requested' : 'forced by NOETHER_BACKEND';
  const available: Partial<Record<BackendName, boolean>> = {};
  let choice: BackendChoice | undefined;

  if (forced !== undefined) {
    if (!BACKEND_NAMES.includes(forced as BackendName)) {
      throw new Error(`unknown backend '${forced}' (${source}); use one of: ${BACKEND_NAMES.join(', ')}`);
    }
    const name = forced as BackendName;
    available[name] = await probe(name);
    if (!available[name] || !(await activate(name, opts))) {
      throw new Error(`backend '${name}' (${source}) is not available: ${INSTALL_HINT[name]}`);
    }
    choice = { name, reason: source, available };
  } else {
    for (const name of BACKEND_NAMES) {
      available[name] = await probe(name);
      if (available[name] && (await activate(name, opts))) {
        choice = { name, reason: name === 'tensorflow' ? 'fastest installed' : `fastest installed (${skipped(available)})`, available };
        break;
      }
    }
    if (!choice) throw new Error('no tfjs backend could be initialised (not even cpu)');
  }
  if (choice.name === 'tensorflow') choice.nativePackage = (await loadNative()) ?? undefined;
  await tf.ready();
  if (choice.name === 'wasm') {
    const poolThreads = startKernelPool(wasmThreads, opts.spawnWorker);
    Object.assign(choice, wasmThreadsReport(opts, wasmFresh, poolThreads));
  }
  else if (wasmThreads > 1) choice.note = `${wasmThreads} wasm threads requested, ignored: the backend is ${choice.name}`;
  checkSecondOrderFixes();
  if (!opts.quiet) {
    const threads = (choice.threads ?? 1) > 1 ? `, ${choice.threads} threads` : '';
    console.info(`[noether] tfjs backend: ${choice.name}${threads} (${choice.reason})${choice.note ? `; note: ${choice.note}` : ''}`);
  }
  return choice;
}

function skipped(av: Partial<Record<BackendName, boolean>>): string {
  const no = BACKEND_NAMES.filter((n) => av[n] === false);
  return no.length ? `${no.join(', ')} not installed` : 'all installed';
}

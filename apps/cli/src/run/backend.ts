// Backend choice for the CLI: core's selectBackend/listBackends when core exports
// them, otherwise (older core) only the always-present cpu backend. --wasm-threads /
// NOETHER_WASM_THREADS (opt-in) run wasm on several threads through ./wasm-threads.ts.
import * as core from '@noether/core';
import { tf } from '@noether/core';
import { CliError, EXIT } from '../cli/errors.js';
import { installWasmThreadShim, spawnKernelWorker } from './wasm-threads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  name: string;
  reason: string;
  nativePackage?: string;
  /** For wasm: the threads it runs on. */
  threads?: number;
  /** Said on stderr: wasm threads asked for and not obtained, or ignored (not wasm). */
  note?: string;
}

interface CoreBackendApi {
  selectBackend(o: {
    backend?: BackendName;
    quiet?: boolean;
    wasmThreads?: number;
    beforeWasmInit?: (threads: number) => () => void;
    spawnWorker?: (source: string) => { postMessage(m: unknown): void; terminate(): unknown };
  }): Promise<{ name: BackendName; reason: string; nativePackage?: string; threads?: number; note?: string }>;
  listBackends(): Promise<Record<BackendName, boolean>>;
}

function coreApi(): Partial<CoreBackendApi> {
  return core as unknown as Partial<CoreBackendApi>;
}

// Only used with a core that does not export selectBackend (then only cpu is wired up).
const FALLBACK_HINT: Record<BackendName, string> = {
  tensorflow: 'npm install @tensorflow/tfjs-node@4.22.0 (this core cannot load it yet; use --backend cpu)',
  wasm: 'this core cannot load the wasm backend yet; use --backend cpu',
  cpu: 'cpu should always be present: reinstall @noether/core',
};

/** Which backends can be loaded here. */
export async function installedBackends(): Promise<Record<BackendName, boolean>> {
  const api = coreApi();
  if (api.listBackends) return api.listBackends();
  return { tensorflow: false, wasm: false, cpu: tf.findBackendFactory('cpu') != null };
}

/** The backend a forced name / env var asks for, or undefined for automatic. */
export function requestedBackend(flag: unknown, env: Record<string, string | undefined>): { name?: string; source: string } {
  if (typeof flag === 'string') return { name: flag, source: '--backend' };
  const e = env['NOETHER_BACKEND']?.trim();
  if (e) return { name: e, source: 'NOETHER_BACKEND' };
  return { source: 'automatic' };
}

/** The wasm thread count --wasm-threads (parsed and checked by parseArgs) or NOETHER_WASM_THREADS asks for. */
export function requestedWasmThreads(flag: unknown, env: Record<string, string | undefined>): { threads: number; source?: string } {
  if (typeof flag === 'number') return { threads: flag, source: '--wasm-threads' };
  const e = env['NOETHER_WASM_THREADS']?.trim();
  if (!e) return { threads: 1 };
  if (!/^\d+$/.test(e) || Number(e) < 1) {
    throw new CliError(`NOETHER_WASM_THREADS needs an integer >= 1 (the thread count, as --wasm-threads N), got '${e}'`, EXIT.USAGE);
  }
  return { threads: Number(e), source: 'NOETHER_WASM_THREADS' };
}

/** 'wasm, 2 threads', else the name. */
export function backendLabel(b: BackendInfo): string {
  return (b.threads ?? 1) > 1 ? `${b.name}, ${b.threads} threads` : b.name;
}

/**
 * Activates a backend; a forced one that is unknown or not installed is a CliError (exit 2), as is a
 * bad NOETHER_WASM_THREADS.
 */
export async function activateBackend(flag: unknown, env: Record<string, string | undefined>, threadsFlag?: unknown): Promise<BackendInfo> {
  const req = requestedBackend(flag, env);
  const wasm = requestedWasmThreads(threadsFlag, env);
  if (req.name !== undefined && !BACKENDS.includes(req.name as BackendName)) {
    throw new CliError(`unknown backend '${req.name}' (from ${req.source}); use one of: ${BACKENDS.join(', ')}`, EXIT.USAGE);
  }
  const api = coreApi();
  if (api.selectBackend) {
    try {
      const c = await api.selectBackend({
        backend: req.name as BackendName | undefined,
        quiet: true,
        wasmThreads: wasm.threads,
        beforeWasmInit: installWasmThreadShim,
        spawnWorker: spawnKernelWorker,
      });
      const note = c.note && `${c.note} (from ${wasm.source})`;
      return { name: c.name, reason: req.name ? `forced by ${req.source}` : c.reason, nativePackage: c.nativePackage, threads: c.threads, note };
    } catch (e) {
      throw new CliError(`${(e as Error).message.replace(/\(requested\)/, `(from ${req.source})`)}`, EXIT.USAGE);
    }
  }
  const name = req.name ?? 'cpu';
  if (name !== 'cpu' || !(await tf.setBackend('cpu'))) {
    throw new CliError(`backend '${name}' (from ${req.source}) is not available: ${FALLBACK_HINT[name as BackendName]}`, EXIT.USAGE);
  }
  await tf.ready();
  return { name, reason: req.name ? `forced by ${req.source}` : 'only backend available' };
}

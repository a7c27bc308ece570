// selectBackend's wasmThreads option, with a fake platform hook: core cannot start the threaded build
// in Node by itself (the CLI's worker_threads shim does, tested in apps/cli/test/wasm-threads.test.ts).
// Its own file: wasm's thread count is fixed at its first initialisation in a process.
import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';

describe('selectBackend wasmThreads', () => {
  it('rejects a thread count that is not an integer >= 1', async () => {
    for (const n of [0, 1.5, -2, NaN]) {
      await expect(selectBackend({ backend: 'wasm', quiet: true, wasmThreads: n })).rejects.toThrow(/wasmThreads must be an integer >= 1/);
    }
  });

  it('is ignored, with a note, when the backend is not wasm (and wasm stays uninitialised)', async () => {
    let called = 0;
    const c = await selectBackend({ backend: 'cpu', quiet: true, wasmThreads: 2, beforeWasmInit: () => void called++ });
    expect(c.name).toBe('cpu');
    expect(c.threads).toBeUndefined();
    expect(c.note).toBe('2 wasm threads requested, ignored: the backend is cpu');
    expect(called).toBe(0);
    expect('wasm' in tf.engine().registry).toBe(false);
  });

  it('forces the multithread flag, calls the hook before wasm initialises, undoes it after; falls back to 1 thread when the threaded build fails', async () => {
    const seen: { threads: number; flag: boolean; initialised: boolean }[] = [];
    let undone = 0;
    tf.env().set('PROD', true); // tfjs's warning about the failed threaded init
    try {
      const c = await selectBackend({
        backend: 'wasm',
        quiet: true,
        wasmThreads: 3,
        beforeWasmInit: (threads) => {
          seen.push({ threads, flag: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'), initialised: 'wasm' in tf.engine().registry });
          return () => void undone++;
        },
      });
      expect(seen).toEqual([{ threads: 3, flag: true, initialised: false }]);
      expect(undone).toBe(1);
      // The fake hook installs nothing, so Node refuses the glue's blob: worker and wasm runs single-threaded.
      expect(c).toMatchObject({ name: 'wasm', threads: 1 });
      expect(c.note).toMatch(/^3 wasm threads requested, 1 in use: the threaded wasm build failed to initialise/);
      expect(tf.getBackend()).toBe('wasm');
      expect(tf.tidy(() => tf.matMul([[1, 2]], [[3], [4]]).dataSync()[0])).toBe(11);
    } finally {
      tf.env().set('PROD', false);
    }
  });

  it('once wasm is initialised, a later request says it cannot change the thread count', async () => {
    let called = 0;
    const c = await selectBackend({ backend: 'wasm', quiet: true, wasmThreads: 2, beforeWasmInit: () => void called++ });
    expect(called).toBe(0);
    expect(c.threads).toBe(1);
    expect(c.note).toMatch(/^2 wasm threads requested, 1 in use: wasm was already initialised in this process/);
  });

  it('without wasmThreads: 1 thread, no note', async () => {
    const c = await selectBackend({ backend: 'wasm', quiet: true });
    expect(c.threads).toBe(1);
    expect(c.note).toBeUndefined();
  });
});

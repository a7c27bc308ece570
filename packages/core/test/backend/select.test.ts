import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import { tf } from '../../src/tf.js';
import { listBackends, selectBackend } from '../../src/backend/select.js';

const saved = process.env['NOETHER_BACKEND'];
afterEach(async () => {
  if (saved === undefined) delete process.env['NOETHER_BACKEND'];
  else process.env['NOETHER_BACKEND'] = saved;
  await tf.setBackend('cpu');
});

// This machine has no tfjs-node: the tests below assume so and say it if that changes.
describe('backend selection', () => {
  it('lists installed backends (no native TensorFlow here; wasm and cpu)', async () => {
    const b = await listBackends();
    expect(b).toEqual({ tensorflow: false, wasm: true, cpu: true });
  });

  it('picks the fastest installed backend: wasm when tfjs-node is absent', async () => {
    delete process.env['NOETHER_BACKEND'];
    const c = await selectBackend({ quiet: true });
    expect(c.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(c.available).toMatchObject({ tensorflow: false, wasm: true });
    expect(c.reason).toMatch(/tensorflow not installed/);
  });

  it('NOETHER_BACKEND forces a backend', async () => {
    process.env['NOETHER_BACKEND'] = 'cpu';
    const c = await selectBackend({ quiet: true });
    expect(c).toMatchObject({ name: 'cpu', reason: 'forced by NOETHER_BACKEND' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('opts.backend wins over NOETHER_BACKEND', async () => {
    process.env['NOETHER_BACKEND'] = 'cpu';
    expect((await selectBackend({ backend: 'wasm', quiet: true })).name).toBe('wasm');
  });

  it('forcing an unavailable backend names it and how to install it', async () => {
    process.env['NOETHER_BACKEND'] = 'tensorflow';
    await expect(selectBackend({ quiet: true })).rejects.toThrow(
      /backend 'tensorflow' \(forced by NOETHER_BACKEND\) is not available: npm install @tensorflow\/tfjs-node/,
    );
  });

  it('names are case-insensitive, and an empty one counts as not given', async () => {
    process.env['NOETHER_BACKEND'] = 'CPU';
    expect(await selectBackend({ backend: '' as never, quiet: true })).toMatchObject({ name: 'cpu', reason: 'forced by NOETHER_BACKEND' });
    expect(await selectBackend({ backend: ' Wasm ' as never, quiet: true })).toMatchObject({ name: 'wasm', reason: 'requested' });
  });

  it('rejects an unknown backend name', async () => {
    process.env['NOETHER_BACKEND'] = 'webgpu';
    await expect(selectBackend({ quiet: true })).rejects.toThrow(/unknown backend 'webgpu'.*tensorflow, wasm, cpu/);
  });

  it('imports the optional native packages by computed specifiers only', () => {
    const src = fs.readFileSync(new URL('../../src/backend/select.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/import\(\s*['"]@tensorflow\/tfjs-node/);
    expect(src).not.toMatch(/from\s+['"]node:|require\(/);
  });
});

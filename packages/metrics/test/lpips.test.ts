import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeParams, tf, type Params } from '@noether/core';
import { LPIPS_WEIGHTS_ENV, lpipsDistance, lpipsMetric } from '../src/index.js';
import { loadLpipsWeights } from '../src/node.js';
import { goldenPath } from './golden.js';

interface LpipsCase {
  a: number[][][][];
  b: number[][][][];
  lpips: number[];
}

describe('LPIPS v0.1 AlexNet (golden random weights)', () => {
  let params: Params;
  let cases: LpipsCase[];
  beforeAll(() => {
    params = loadLpipsWeights(goldenPath('lpips'));
    cases = JSON.parse(readFileSync(goldenPath('lpips', 'cases.json'), 'utf8')) as LpipsCase[];
  });
  afterAll(() => disposeParams(params));

  it('reproduces every distance to 1e-3 relative', () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const a = tf.tensor4d(c.a);
      const b = tf.tensor4d(c.b);
      const d = lpipsDistance(params, a, b);
      const got = d.arraySync();
      tf.dispose([a, b, d]);
      expect(got).toHaveLength(c.lpips.length);
      got.forEach((g, i) => expect(Math.abs(g - c.lpips[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(c.lpips[i]!)));
    }
  });

  it('Metric form maps [0,1] images to [-1,1], is zero on identical images, and leaks nothing', () => {
    const c = cases[0]!;
    const a = tf.tensor4d(c.a);
    const b = tf.tensor4d(c.b);
    const m = lpipsMetric(params);
    expect([m.name, m.higherIsBetter]).toEqual(['lpips', false]);
    const a01 = tf.div(tf.add(a, 1), 2);
    const b01 = tf.div(tf.add(b, 1), 2);
    const run = () => {
      const v = m.compute(a01, b01);
      const out = v.arraySync() as number[];
      v.dispose();
      return out;
    };
    const got = run();
    got.forEach((g, i) => expect(Math.abs(g - c.lpips[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(c.lpips[i]!)));
    const same = lpipsMetric(params, { inputRange: '-1,1' }).compute(a, a);
    for (const v of same.arraySync() as number[]) expect(Math.abs(v)).toBeLessThan(1e-6);
    same.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, a01, b01]);
  });

  it('Metric form repeats grey images over RGB', () => {
    const m = lpipsMetric(params);
    const g1 = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 8);
    const g2 = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 9);
    const rgb = (t: tf.Tensor) => tf.concat([t, t, t], 3);
    const grey = m.compute(g1, g2);
    const full = m.compute(rgb(g1), rgb(g2));
    expect(grey.arraySync()).toEqual(full.arraySync());
    expect((grey.arraySync() as number[])[0]).toBeGreaterThan(0);
    expect(() => m.compute(tf.zeros([1, 32, 32, 2]), tf.zeros([1, 32, 32, 2]))).toThrow(/\[B, H, W, 3\]/);
    expect(() => m.compute(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 16, 16, 3]))).toThrow(/at least 31×31/);
    // A grey image against a colour one is a mistake, not something to repeat over RGB.
    expect(() => m.compute(g1, rgb(g2))).toThrow(/differ in shape: \[1,32,32,1\] vs \[1,32,32,3\]/);
    tf.dispose([g1, g2, grey, full]);
  });
});

// Converted real weights: convert-lpips.py --cases N writes cases.json next to them
// (distances from its own PyTorch forward pass). Runs only where such a folder is given.
const realDir = process.env[LPIPS_WEIGHTS_ENV];
describe.skipIf(!realDir || !existsSync(join(realDir, 'cases.json')))(`LPIPS on converted weights in $${LPIPS_WEIGHTS_ENV}`, () => {
  it('reproduces the converter’s distances to 1e-3 relative', () => {
    const params = loadLpipsWeights(realDir!);
    const cs = JSON.parse(readFileSync(join(realDir!, 'cases.json'), 'utf8')) as LpipsCase[];
    for (const c of cs) {
      const d = tf.tidy(() => lpipsDistance(params, tf.tensor4d(c.a), tf.tensor4d(c.b)));
      const got = d.arraySync();
      d.dispose();
      got.forEach((g, i) => expect(Math.abs(g - c.lpips[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(c.lpips[i]!)));
    }
    disposeParams(params);
  });
});

describe('LPIPS weights loading', () => {
  let dir: string;
  const golden = () => goldenPath('lpips');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'noether-lpips-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the golden weights folder with the manifest edited and weights.bin cut to `bytes`. */
  function variant(name: string, edit: (m: { weights: { name: string; shape: number[] }[] } & Record<string, unknown>) => void, bytes?: number) {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    const m = JSON.parse(readFileSync(join(golden(), 'manifest.json'), 'utf8'));
    edit(m);
    writeFileSync(join(sub, 'manifest.json'), JSON.stringify(m));
    if (bytes === undefined) copyFileSync(join(golden(), 'weights.bin'), join(sub, 'weights.bin'));
    else writeFileSync(join(sub, 'weights.bin'), readFileSync(join(golden(), 'weights.bin')).subarray(0, bytes));
    return sub;
  }

  it('refuses to run without weights, saying how to get them', () => {
    const saved = process.env[LPIPS_WEIGHTS_ENV];
    delete process.env[LPIPS_WEIGHTS_ENV];
    try {
      expect(() => loadLpipsWeights()).toThrow(/convert-lpips\.py/);
      expect(() => loadLpipsWeights()).toThrow(/never runs on random weights/);
      expect(() => loadLpipsWeights(join(dir, 'nowhere'))).toThrow(/manifest\.json not found.*convert-lpips\.py/s);
      expect(() => lpipsDistance({}, tf.zeros([1, 32, 32, 3]), tf.zeros([1, 32, 32, 3]))).toThrow(/missing from the weights record.*loadLpipsWeights/);
    } finally {
      if (saved !== undefined) process.env[LPIPS_WEIGHTS_ENV] = saved;
    }
  });

  // Whether or not torch is installed here: a None in sys.modules makes `import torch` fail as if absent.
  it.skipIf(spawnSync('python3', ['--version']).status !== 0)('convert-lpips.py without torch: one line saying it needs PyTorch, exit non-zero, no traceback', () => {
    const script = new URL('../scripts/convert-lpips.py', import.meta.url).pathname;
    const run = `import sys, runpy; sys.modules['torch'] = None; sys.argv = ['convert-lpips.py', '--help']; runpy.run_path(${JSON.stringify(script)}, run_name='__main__')`;
    const r = spawnSync('python3', ['-c', run], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^convert-lpips: needs PyTorch, .*python3-torch/)]);
  });

  it('takes the folder from NOETHER_LPIPS_WEIGHTS', () => {
    const saved = process.env[LPIPS_WEIGHTS_ENV];
    process.env[LPIPS_WEIGHTS_ENV] = golden();
    try {
      const p = loadLpipsWeights();
      expect(p['conv1/kernel']!.shape).toEqual([11, 11, 3, 64]);
      expect(Array.from(p['scaling/scale']!.dataSync())).toEqual(
        Array.from(new Float32Array([0.458, 0.448, 0.45])),
      );
      disposeParams(p);
    } finally {
      if (saved === undefined) delete process.env[LPIPS_WEIGHTS_ENV];
      else process.env[LPIPS_WEIGHTS_ENV] = saved;
    }
  });

  it('refuses a truncated weights.bin, naming the file', () => {
    const size = readFileSync(join(golden(), 'weights.bin')).byteLength;
    const d = variant('trunc', () => {}, size - 4);
    const before = tf.memory().numTensors;
    expect(() => loadLpipsWeights(d)).toThrow(new RegExp(`${d}/weights\\.bin: truncated: ${size - 4} bytes, the manifest needs ${size}`));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the manifest file and field on a bad manifest', () => {
    const d1 = variant('dtype', (m) => {
      (m.weights[2] as Record<string, unknown>).dtype = 'float16';
    });
    expect(() => loadLpipsWeights(d1)).toThrow(new RegExp(`${d1}/manifest\\.json: .*field 'weights\\.2\\.dtype'`, 's'));
    const d2 = variant('shape', (m) => {
      m.weights[3]!.shape = [5, 5, 64, 191];
    });
    expect(() => loadLpipsWeights(d2)).toThrow(/manifest\.json: field 'weights\.3\.shape': \[5,5,64,191\] for 'conv2\/kernel', expected \[5,5,64,192\]/);
    const d3 = variant('missing', (m) => {
      m.weights = m.weights.filter((w) => w.name !== 'lin5/kernel');
    });
    expect(() => loadLpipsWeights(d3)).toThrow(/manifest\.json: field 'weights': missing lin5\/kernel/);
    const d4 = variant('scaling', (m) => {
      delete m.scaling;
    });
    expect(() => loadLpipsWeights(d4)).toThrow(/manifest\.json: .*field 'scaling'/s);
  });
});

// Exact meta-gradients against float64 PyTorch references (shared/golden/second-order/*.json):
// every file there is a test, on the cpu and wasm backends. NOETHER_GOLDEN_DIR runs another set of
// the same form instead, e.g. the wider one golden-variants.py makes (35 cases, all passing).
import { describe, it, expect, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../../src/tf.js';
import { selectBackend } from '../../src/backend/select.js';
import { runGolden, type GoldenFile } from './golden-cases.js';
import { traceKernels, SECOND_ORDER_CHECKED } from '../../src/second-order/audit.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const goldenRoot = process.env['NOETHER_GOLDEN_DIR'] ?? path.resolve(repoRoot, '../shared/golden');
const dir = path.join(goldenRoot, 'second-order');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

// The reference's own criterion (shared/golden/README.md): float32 through one tailoring step
// matches float64 to a relative error of 1e-3, with 1e-6 absolute slack near zero.
function within(got: number, want: number): boolean {
  return Math.abs(got - want) <= 1e-3 * (Math.abs(want) + 1e-3);
}

const used = new Set<string>();

function check(file: string): void {
  const g = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as GoldenFile;
  const { result: res, kernels } = traceKernels(() => runGolden(g, file));
  kernels.forEach((k) => used.add(k));
  const bad: string[] = [];
  if (!within(res.inner, g.expected.inner)) bad.push(`inner: got ${res.inner}, want ${g.expected.inner}`);
  if (!within(res.outer, g.expected.outer)) bad.push(`outer: got ${res.outer}, want ${g.expected.outer}`);
  for (const [name, want] of Object.entries(g.expected.grads)) {
    const got = res.grads[name];
    if (!got) {
      bad.push(`grad ${name}: not computed`);
      continue;
    }
    const w = [want].flat(8) as number[];
    if (w.length !== got.values.length) bad.push(`grad ${name}: ${got.values.length} entries, want ${w.length}`);
    let worst = 0;
    let nbad = 0;
    w.forEach((v, i) => {
      const d = Math.abs(got.values[i]! - v) / (Math.abs(v) + 1e-3);
      worst = Math.max(worst, d);
      if (!within(got.values[i]!, v)) nbad++;
    });
    if (nbad) bad.push(`grad ${name}: ${nbad}/${w.length} entries off, worst relative error ${worst.toExponential(2)}`);
  }
  expect(bad, `${file}:\n${bad.join('\n')}`).toEqual([]);
}

describe('golden second-order files', () => {
  it(`are present in ${dir}`, () => {
    expect(files.length, `no .json files in ${dir} (set NOETHER_GOLDEN_DIR)`).toBeGreaterThan(0);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`golden meta-gradients on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ backend, quiet: true });
    });
    for (const file of files) {
      it(file, () => {
        const before = tf.memory().numTensors;
        check(file);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
}

describe('checked-kernel table', () => {
  // The credit table describes the shipped case set; another set (NOETHER_GOLDEN_DIR) may use fewer kernels.
  it.skipIf(process.env['NOETHER_GOLDEN_DIR'] !== undefined)("every kernel the table credits to 'golden.test' was exercised here (shipped case set)", () => {
    const credited = Object.entries(SECOND_ORDER_CHECKED).filter(([, by]) => by.includes('golden.test')).map(([k]) => k);
    expect(credited.filter((k) => !used.has(k))).toEqual([]);
  });
  it('every kernel exercised here is in the table', () => {
    expect([...used].filter((k) => !(k in SECOND_ORDER_CHECKED)).sort()).toEqual([]);
  });
});

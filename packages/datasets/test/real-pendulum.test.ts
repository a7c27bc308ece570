import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@noether/core';
import { loadRealPendulum, realPendulumDataset } from '../src/index.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const FILE = resolve(repoRoot, '../shared/data/schmidt-lipson/real_pend_h_1.txt');

describe('Schmidt–Lipson real pendulum', () => {
  it('gives 555 finite-difference samples and the [444, 554) test block', () => {
    const d = loadRealPendulum(FILE);
    expect(d.stateNames).toEqual(['o', 'v']);
    expect(d.raw.t.length).toBe(556);
    expect(d.all.t.length).toBe(555);
    expect(d.testRows[0]).toBe(444);
    expect(d.testRows[d.testRows.length - 1]).toBe(553);
    expect(d.test.n).toBe(110);
    expect(d.train.n).toBe(445);
    expect(d.trainRows.includes(554)).toBe(true);
    // First sample, by hand from the first two rows of the file (Δt = 1/6 s).
    expect(d.all.x[0]).toBeCloseTo(1.1383885512243586, 12);
    expect(d.all.dxdt[0]).toBeCloseTo((1.2753554896511765 - 1.1383885512243586) / (5.166666666666667 - 5.0), 9);
    expect(d.all.dxdt[1]).toBeCloseTo((0.71937977921297058 - 0.9197795905867725) / (5.166666666666667 - 5.0), 9);
    expect(d.test.x[0]).toBeCloseTo(d.all.x[2 * 444]!, 6);
  });

  it('windows never cross the test block or a time gap', async () => {
    const ds = realPendulumDataset(FILE, { seqLength: 10, stride: 5 });
    expect(ds.obsShape).toEqual([2]);
    expect(ds.size('test')).toBeGreaterThan(10);
    const d = loadRealPendulum(FILE);
    // Locate each window's samples among the 555 rows by value; they must be consecutive,
    // 1/6 s apart, and all in the split's rows.
    const rowOf = new Map<string, number>();
    for (let r = 0; r < 555; r++) rowOf.set(`${Math.fround(d.all.x[2 * r]!)},${Math.fround(d.all.x[2 * r + 1]!)}`, r);
    const before = tf.memory().numTensors;
    for (const split of ['train', 'test'] as const) {
      let windows = 0;
      for await (const b of ds.batches(split, { batchSize: 16 })) {
        expect(b.obs.shape.slice(1)).toEqual([10, 2]);
        const v = b.obs.dataSync();
        for (let w = 0; w < b.obs.shape[0]!; w++, windows++) {
          const rows = Array.from({ length: 10 }, (_, k) => rowOf.get(`${v[(w * 10 + k) * 2]},${v[(w * 10 + k) * 2 + 1]}`)!);
          for (let k = 1; k < 10; k++) {
            expect(rows[k]).toBe(rows[k - 1]! + 1);
            expect(d.all.t[rows[k]!]! - d.all.t[rows[k - 1]!]!).toBeCloseTo(1 / 6, 6);
          }
          for (const r of rows) expect(split === 'test' ? r >= 444 && r < 554 : r < 444 || r >= 554).toBe(true);
        }
        b.obs.dispose();
      }
      expect(windows).toBe(ds.size(split));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad files name the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lipson-'));
    try {
      const f = join(dir, 'p.txt');
      writeFileSync(f, '0 5.0 1 2\n');
      expect(() => loadRealPendulum(f)).toThrow(/p\.txt:1: expected a header line starting with '%'/);
      writeFileSync(f, '%o v\n0 5.0 1 2\n0 5.1 1\n');
      expect(() => loadRealPendulum(f)).toThrow(/p\.txt:3: expected 4 columns \(trial, t, o, v\), got 3/);
      writeFileSync(f, '%o v\n0 5.0 1 2\n0 5.1 x 2\n');
      expect(() => loadRealPendulum(f)).toThrow(/p\.txt:3:3: column 'o' is 'x', expected a finite number/);
      writeFileSync(f, '%o v\n0 5.0 1 2\n0 4.9 1 2\n');
      expect(() => loadRealPendulum(f)).toThrow(/p\.txt:3: time 4\.9 does not increase/);
      expect(() => loadRealPendulum(join(dir, 'none.txt'))).toThrow(/none\.txt: cannot read/);
      // Differences run across trials, so a second trial restarting its clock is refused where it restarts.
      writeFileSync(f, '%o v\n0 5.0 1 2\n0 5.1 1 2\n1 0.0 1 2\n1 0.1 1 2\n');
      expect(() => loadRealPendulum(f)).toThrow(/p\.txt:4: time 0 does not increase \(previous row has 5\.1\); derivatives are taken across trials/);
      writeFileSync(f, '%o v\r0 5.0 1 2\r0 5.1 3 2\r0 5.2 1 2\r'); // lone-CR line ends
      expect(Array.from(loadRealPendulum(f, { trainFraction: 0.5 }).all.dxdt.subarray(0, 2)).map((v) => Math.round(v))).toEqual([20, 0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

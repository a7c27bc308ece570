import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvDataset, loadCsvTrajectories, flatPairs, finiteDifferences, type CsvOptions } from '../src/index.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'csv-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const opts: CsvOptions = { idColumn: 'run', timeColumn: 'time', stateColumns: ['q', 'p'] };

/** n trajectories of T samples: q = id + t, p = 10·id − t. */
function make(n: number, T: number, extra = ''): string {
  const rows = [`run,time,p,q${extra ? ',note' : ''}`];
  for (let i = 0; i < n; i++) for (let k = 0; k < T; k++) rows.push(`r${i},${k * 0.5},${10 * i - k * 0.5},${i + k * 0.5}${extra ? `,${extra}` : ''}`);
  return rows.join('\n') + '\n';
}

describe('CSV trajectories', () => {
  it('reads named columns in the requested order and splits by trajectory (seeded)', () => {
    const p = file('ok.csv', make(10, 4, 'x'));
    const a = loadCsvTrajectories(p, { ...opts, testFraction: 0.3, seed: 4 });
    const b = loadCsvTrajectories(p, { ...opts, testFraction: 0.3, seed: 4 });
    const c = loadCsvTrajectories(p, { ...opts, testFraction: 0.3, seed: 5 });
    expect(a.train.length).toBe(7);
    expect(a.test.length).toBe(3);
    expect(a.test.map((t) => t.id)).toEqual(b.test.map((t) => t.id));
    expect(a.test.map((t) => t.id).join()).not.toBe(c.test.map((t) => t.id).join());
    expect(new Set([...a.train, ...a.test].map((t) => t.id)).size).toBe(10);
    const r3 = [...a.train, ...a.test].find((t) => t.id === 'r3')!;
    expect(Array.from(r3.x)).toEqual([3, 30, 3.5, 29.5, 4, 29, 4.5, 28.5]); // (q, p) per sample
    expect(Array.from(r3.t)).toEqual([0, 0.5, 1, 1.5]);
    const fd = finiteDifferences(r3, 2);
    expect(Array.from(fd.dxdt!)).toEqual([1, -1, 1, -1, 1, -1]);
    expect(flatPairs([fd], 2).n).toBe(3);
    const ds = csvDataset(p, opts);
    expect(ds.obsShape).toEqual([2]);
    expect(ds.seqLength).toBe(4);
    expect(ds.size('train') + ds.size('test')).toBe(10);
  });

  it('cuts ragged trajectories into windows when seqLength is given', () => {
    const text = make(2, 5) + 'r9,0,1,1\nr9,1,1,1\nr9,2,1,1\n';
    const p = file('ragged.csv', text);
    expect(() => loadCsvTrajectories(p, opts)).toThrow(/ragged\.csv:12: ragged trajectories: 'r0' has 5 samples but 'r9' has 3; give seqLength/);
    const set = loadCsvTrajectories(p, { ...opts, seqLength: 3, stride: 1, testFraction: 0 });
    expect(set.train.length).toBe(3 + 3 + 1);
    expect(() => loadCsvTrajectories(p, { ...opts, seqLength: 4 })).toThrow(/ragged\.csv:12: trajectory 'r9' has 3 samples, fewer than the 4 required \(seqLength 4\)/);
  });

  it('names the file, line and column of every bad input', () => {
    expect(() => loadCsvTrajectories(file('m.csv', 'run,time,q\nr,0,1\n'), opts)).toThrow(/m\.csv:1: state column 'p' not found; the header has: 'run', 'time', 'q'/);
    expect(() => loadCsvTrajectories(file('m2.csv', 'id,time,q,p\n'), opts)).toThrow(/m2\.csv:1: trajectory-id column 'run' not found/);
    expect(() => loadCsvTrajectories(file('n.csv', 'run,time,q,p\nr,0,1,2\nr,1,abc,2\n'), opts)).toThrow(/n\.csv:3:3: state 'q' is 'abc', expected a finite number/);
    expect(() => loadCsvTrajectories(file('e.csv', 'run,time,q,p\nr,,1,2\n'), opts)).toThrow(/e\.csv:2:2: time 'time' is empty/);
    expect(() => loadCsvTrajectories(file('f.csv', 'run,time,q,p\nr,0,1,2\nr,1,2\n'), opts)).toThrow(/f\.csv:3: has 3 fields, the header has 4/);
    expect(() => loadCsvTrajectories(file('t.csv', 'run,time,q,p\nr,1,1,2\nr,1,2,2\n'), opts)).toThrow(/t\.csv:3:2: time 1 of trajectory 'r' does not increase \(line 2 has 1\)/);
    expect(() => loadCsvTrajectories(file('s.csv', 'run,time,q,p\na,0,1,2\na,1,1,2\nb,0,1,2\n'), opts)).toThrow(/s\.csv:4: trajectory 'b' has 1 samples, fewer than the 2 required/);
    expect(() => loadCsvTrajectories(file('h.csv', 'run,time,q,p\n'), opts)).toThrow(/h\.csv: has a header but no data rows/);
    expect(() => loadCsvTrajectories(file('z.csv', ''), opts)).toThrow(/z\.csv: the file is empty/);
    expect(() => loadCsvTrajectories(join(dir, 'missing.csv'), opts)).toThrow(/missing\.csv: cannot read the CSV file/);
    expect(() => loadCsvTrajectories(file('i.csv', 'run,time,q,p\n,0,1,2\n'), opts)).toThrow(/i\.csv:2:1: trajectory id \('run'\) is empty/);
  });

  it('reads what spreadsheets and R write: quoted fields, lone-CR line ends; refuses bad quotes by line and column', () => {
    const plain = loadCsvTrajectories(file('plain.csv', make(3, 2)), { ...opts, testFraction: 0 });
    // R's write.csv: a quoted header with an unnamed row-name column, quoted ids and a quote inside a quoted field.
    const r = '"","run","time","p","q","note"\n' + make(3, 2).split('\n').slice(1, -1).map((l, i) => { const [id, ...v] = l.split(','); return `"${i + 1}","${id}",${v.join(',')},"say ""hi"", then go"`; }).join('\n') + '\n';
    const quoted = loadCsvTrajectories(file('r.csv', r), { ...opts, testFraction: 0 });
    expect(quoted.train.map((t) => [t.id, Array.from(t.x)])).toEqual(plain.train.map((t) => [t.id, Array.from(t.x)]));
    const mac = loadCsvTrajectories(file('cr.csv', make(3, 2).replaceAll('\n', '\r')), { ...opts, testFraction: 0 });
    expect(mac.train.map((t) => Array.from(t.x))).toEqual(plain.train.map((t) => Array.from(t.x)));
    expect(() => loadCsvTrajectories(file('q1.csv', 'run,time,q,p\n"r,0,1,2\n'), opts)).toThrow(/q1\.csv:2:1: the quoted field has no closing quote/);
    expect(() => loadCsvTrajectories(file('q2.csv', 'run,time,q,p\nr,0,1"5,2\n'), opts)).toThrow(/q2\.csv:2:3: a quote inside an unquoted field/);
  });

  it('refuses a column named twice in the header or given two roles, and values float32 cannot hold', () => {
    expect(() => loadCsvTrajectories(file('d.csv', 'run,time,q,p,q\nr,0,1,2,3\nr,1,1,2,3\n'), opts)).toThrow(/d\.csv:1: the header names column 'q' twice \(columns 3 and 5\); rename one/);
    const ok = file('roles.csv', make(3, 2));
    expect(() => loadCsvTrajectories(ok, { ...opts, stateColumns: ['time', 'p'] })).toThrow(/roles\.csv:1: column 'time' is given as both the time column and a state column/);
    expect(() => loadCsvTrajectories(ok, { ...opts, idColumn: 'time' })).toThrow(/roles\.csv:1: column 'time' is given as both the trajectory-id column and a time column/);
    expect(() => loadCsvTrajectories(file('big.csv', 'run,time,q,p\nr,0,1e39,2\nr,1,1,2\n'), opts)).toThrow(/big\.csv:2:3: state 'q' is 1e39, beyond float32's range/);
    expect(() => loadCsvTrajectories(ok, { ...opts, seqLength: 0 })).toThrow(/window length must be a positive integer, got 0/);
  });

  it('detects ; and tab separators', () => {
    const p = file('semi.csv', make(3, 2).replaceAll(',', ';'));
    expect(loadCsvTrajectories(p, { ...opts, testFraction: 0 }).train.length).toBe(3);
    const q = file('tab.tsv', make(3, 2).replaceAll(',', '\t'));
    expect(loadCsvTrajectories(q, { ...opts, testFraction: 0 }).train.length).toBe(3);
  });
});

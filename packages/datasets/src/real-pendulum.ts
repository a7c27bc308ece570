// The real pendulum of Schmidt & Lipson (2009) as HNN and Noether Networks use it:
// forward finite differences of (o, v) give 555 derivative samples; rows
// [444, 554) are the test block (HNN's split with test_split = 0.8).
import { ArrayDataset } from '@noether/core';
import { DataFileError, parseCell, readDataText, splitLines } from './errors.js';
import { finiteDifferences, medianStep, trajectoryDataset, windowTrajectories, type Trajectory } from './trajectories.js';

export interface RealPendulumData {
  file: string;
  /** State column names from the header (['o', 'v']). */
  stateNames: string[];
  /** The raw rows: trial id, time, and T × D states. */
  raw: { trial: Float64Array; t: Float64Array; x: Float64Array };
  /** The N = rows − 1 samples with forward-difference derivatives. */
  all: Required<Trajectory>;
  /** Sample indices of each split: test is the contiguous block [a, b), train the rest. */
  trainRows: number[];
  testRows: number[];
  train: { x: Float32Array; dxdt: Float32Array; n: number };
  test: { x: Float32Array; dxdt: Float32Array; n: number };
}

export interface RealPendulumOptions {
  /** HNN's `test_split` argument, the share of samples before the test block (0.8). */
  trainFraction?: number;
}

/** Parses the Schmidt–Lipson text format: '%' header naming the state columns, then trial, t, states. */
export function parseLipson(text: string, file: string): { stateNames: string[]; trial: Float64Array; t: Float64Array; x: Float64Array } {
  const lines = splitLines(text);
  const headerIdx = lines.findIndex((l) => l.trim() !== '');
  const header = lines[headerIdx]?.trim() ?? '';
  if (!header.startsWith('%')) {
    throw new DataFileError(file, headerIdx + 1, `expected a header line starting with '%' that names the state columns (e.g. '%o v'), got '${header.slice(0, 40)}'`);
  }
  const stateNames = header.slice(1).trim().split(/\s+/).filter(Boolean);
  if (stateNames.length === 0) throw new DataFileError(file, headerIdx + 1, "the '%' header names no state columns");
  const cols = 2 + stateNames.length;
  const trial: number[] = [];
  const t: number[] = [];
  const x: number[] = [];
  for (let i = headerIdx + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const cells = line.split(/\s+/);
    if (cells.length !== cols) {
      throw new DataFileError(file, i + 1, `expected ${cols} columns (trial, t, ${stateNames.join(', ')}), got ${cells.length}`);
    }
    const names = ['trial', 't', ...stateNames];
    const v = cells.map((c, j) => parseCell(c, file, i + 1, j + 1, `column '${names[j]}'`));
    // Across trials too: the derivatives are differences of consecutive rows, trial boundaries included (as HNN's).
    if (t.length > 0 && !(v[1]! > t[t.length - 1]!)) {
      const across = v[0] !== trial[trial.length - 1] ? `; derivatives are taken across trials, so times must increase through the whole file, not restart per trial` : '';
      throw new DataFileError(file, i + 1, `time ${v[1]} does not increase (previous row has ${t[t.length - 1]})${across}`);
    }
    trial.push(v[0]!);
    t.push(v[1]!);
    x.push(...v.slice(2));
  }
  if (t.length < 2) throw new DataFileError(file, undefined, `needs at least 2 data rows, found ${t.length}`);
  return { stateNames, trial: Float64Array.from(trial), t: Float64Array.from(t), x: Float64Array.from(x) };
}

export function loadRealPendulum(file: string, opts: RealPendulumOptions = {}): RealPendulumData {
  const parsed = parseLipson(readDataText(file, 'real-pendulum file', 'it ships in shared/data/schmidt-lipson/real_pend_h_1.txt'), file);
  const d = parsed.stateNames.length;
  // Like HNN: differences run across trial boundaries and time gaps alike.
  const all = finiteDifferences({ t: parsed.t, x: parsed.x, id: file }, d) as Required<Trajectory>;
  const n = all.t.length;
  const frac = opts.trainFraction ?? 0.8;
  if (!(frac > 0 && frac < 1)) throw new Error(`trainFraction must be in (0, 1), got ${frac}`);
  // The same float expressions as HNN, so the block is [444, 554) for 555 samples.
  const a = Math.floor(n * frac);
  const b = a + Math.floor(n * (1 - frac));
  const testRows = range(a, b);
  const trainRows = [...range(0, a), ...range(b, n)];
  const pick = (rows: number[]) => {
    const x = new Float32Array(rows.length * d);
    const dxdt = new Float32Array(rows.length * d);
    rows.forEach((r, i) => {
      x.set(all.x.subarray(r * d, (r + 1) * d), i * d);
      dxdt.set(all.dxdt.subarray(r * d, (r + 1) * d), i * d);
    });
    return { x, dxdt, n: rows.length };
  };
  return { file, stateNames: parsed.stateNames, raw: parsed, all, trainRows, testRows, train: pick(trainRows), test: pick(testRows) };
}

export interface RealPendulumSequenceOptions extends RealPendulumOptions {
  /** Window length in samples. */
  seqLength: number;
  stride?: number;
}

/**
 * Fixed-length windows as a Dataset (obsShape [2]). Windows stay inside one split
 * block and never cross a time gap (a step longer than 1.5× the median), because
 * a sequence model assumes a constant step.
 */
export function realPendulumDataset(file: string, opts: RealPendulumSequenceOptions): ArrayDataset {
  const data = loadRealPendulum(file, opts);
  const d = data.stateNames.length;
  const median = medianStep([data.raw.t]);
  const segments = (rows: number[]): Trajectory[] => {
    const out: Trajectory[] = [];
    let cur: number[] = [];
    const flush = () => {
      if (cur.length > 0) out.push({ t: Float64Array.from(cur, (r) => data.all.t[r]!), x: Float64Array.from(cur.flatMap((r) => Array.from(data.all.x.subarray(r * d, (r + 1) * d)))), id: `${file}[${cur[0]}..${cur[cur.length - 1]}]` });
      cur = [];
    };
    for (const r of rows) {
      const prev = cur[cur.length - 1];
      if (prev !== undefined && (r !== prev + 1 || data.all.t[r]! - data.all.t[prev]! > 1.5 * median)) flush();
      cur.push(r);
    }
    flush();
    return out;
  };
  const train = windowTrajectories(segments(data.trainRows), d, opts.seqLength, opts.stride);
  const test = windowTrajectories(segments(data.testRows), d, opts.seqLength, opts.stride);
  if (train.length === 0 || test.length === 0) {
    throw new Error(`real pendulum: seqLength ${opts.seqLength} leaves ${train.length} train and ${test.length} test windows; use a shorter seqLength`);
  }
  return trajectoryDataset({ name: 'real-pendulum', stateNames: data.stateNames, train, test });
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

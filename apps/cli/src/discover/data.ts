// The data of a discovery run, from a built-in system or a file: train/test trajectories of equal
// length (the sequences tailoring and the search see), (x, dx/dt) pairs for pre-training, Δt,
// units of the inputs, and the true conserved quantity when one is known (the oracle).
import { tf, ArrayDataset, type Embedding } from '@noether/core';
import {
  generatePendulum, generateSpring, loadRealPendulum, realPendulumDataset, loadCsvTrajectories, csvHeader,
  finiteDifferences, flatPairs, medianStep, parseLipson, type Trajectory,
} from '@noether/datasets';
import type { SystemSpec } from '@noether/embeddings-symbolic';
import { readFileSync } from 'node:fs';
import { CliError } from '../cli/errors.js';
import { parseInputs, type InputUnit } from './units.js';

export type Source = 'spring' | 'pendulum' | 'real-pendulum' | 'file';

/** Everything needed to rebuild the same data (also stored in shard files). */
export interface DataSpec {
  source: Source;
  seed: number;
  /** For 'file' (and optionally real-pendulum): the path. */
  file?: string;
  format?: 'csv' | 'schmidt-lipson';
  /** NAME:UNIT list (files; optional override for real-pendulum). */
  inputs?: string;
  /** CSV columns. */
  idColumn?: string;
  timeColumn?: string;
  /** Window length for long recordings (real pendulum, CSV). */
  seqLength?: number;
  testFraction?: number;
  /** Gaussian noise on q, p of the synthetic systems (HNN default 0.1; tables noise-free). */
  noise?: number;
}

export interface DiscoverData {
  name: string;
  system: SystemSpec;
  inputs: { name: string; unit: string }[];
  dt: number;
  T: number;
  /** State dimension D (the number of inputs). */
  dim: number;
  /** [n, T, D] row-major. */
  train: Float32Array;
  nTrain: number;
  test: Float32Array;
  nTest: number;
  pairs: { x: Float32Array; dxdt: Float32Array; n: number };
  /** HNN's weight decay: 1e-4 for the ideal systems, 1e-5 for real data. */
  weightDecay: number;
  oracle?: { key: OracleKey; formula: string; embedding: Embedding };
}

export type OracleKey = 'spring' | 'pendulum' | 'real-pendulum';

const ORACLES: Record<OracleKey, { formula: string; fn: (q: tf.Tensor, p: tf.Tensor) => tf.Tensor }> = {
  spring: { formula: 'q^2 + p^2', fn: (q, p) => tf.add(tf.square(q), tf.square(p)) },
  pendulum: { formula: '3*(1 - cos(q)) + p^2', fn: (q, p) => tf.add(tf.mul(3, tf.sub(1, tf.cos(q))), tf.square(p)) },
  'real-pendulum': { formula: '2.4*(1 - cos(q)) + p^2 (HNN, hand-fitted)', fn: (q, p) => tf.add(tf.mul(2.4, tf.sub(1, tf.cos(q))), tf.square(p)) },
};

/** The true conserved quantity of a built-in system; by key, so that worker threads can rebuild it. */
export function oracleOf(key: OracleKey): { key: OracleKey; formula: string; embedding: Embedding } {
  const { formula, fn } = ORACLES[key];
  return {
    key,
    formula,
    embedding: {
      name: 'oracle', arity: 1, dim: 1, init: () => ({}),
      apply: (_p, xs) => {
        const x = xs[0]!;
        return fn(tf.slice(x, [0, 0], [-1, 1]), tf.slice(x, [0, 1], [-1, 1]));
      },
    },
  };
}

function pack(trs: Trajectory[], T: number, dim: number): Float32Array {
  const out = new Float32Array(trs.length * T * dim);
  trs.forEach((tr, i) => out.set(tr.x.subarray(0, T * dim), i * T * dim));
  return out;
}

function fromDataset(ds: ArrayDataset): { train: Float32Array; test: Float32Array; nTrain: number; nTest: number; T: number } {
  const get = (s: 'train' | 'test') => {
    const n = ds.size(s);
    const b = ds.gather(s, Array.from({ length: n }, (_, i) => i));
    const v = b.obs.dataSync() as Float32Array;
    b.obs.dispose();
    return { v: Float32Array.from(v), n };
  };
  const tr = get('train');
  const te = get('test');
  return { train: tr.v, test: te.v, nTrain: tr.n, nTest: te.n, T: ds.seqLength };
}

function systemOf(name: string, inputs: InputUnit[]): SystemSpec {
  return { name, inputs: inputs.map((i) => ({ name: i.name, unit: i.unit })) };
}

// The search compares conservation across training sequences (embeddings-symbolic needs ≥ 2 of
// them) and the results are test rollouts (≥ 1 test sequence).
const MIN_TRAIN = 2;
const MIN_TEST = 1;

export function loadDiscoverData(spec: DataSpec): DiscoverData {
  if (spec.source === 'spring' || spec.source === 'pendulum') {
    const set = (spec.source === 'spring' ? generateSpring : generatePendulum)({ seed: spec.seed, noiseStd: spec.noise ?? 0 });
    const T = set.train[0]!.t.length;
    const dt = set.train[0]!.t[1]! - set.train[0]!.t[0]!;
    const inputs = spec.source === 'spring'
      ? [{ name: 'q', unit: [1, 0, 0], text: 'L' }, { name: 'p', unit: [1, 1, -1], text: 'M*L/T' }]
      : [{ name: 'q', unit: [0, 0, 0], text: '1' }, { name: 'p', unit: [2, 1, -1], text: 'M*L^2/T' }];
    const oracle = oracleOf(spec.source);
    return {
      name: spec.source, system: systemOf(spec.source, inputs), inputs: inputs.map((i) => ({ name: i.name, unit: i.text })),
      dt, T, dim: 2, train: pack(set.train, T, 2), nTrain: set.train.length, test: pack(set.test, T, 2), nTest: set.test.length,
      pairs: flatPairs(set.train, 2), weightDecay: 1e-4, oracle,
    };
  }
  if (spec.source === 'real-pendulum' || spec.format === 'schmidt-lipson') {
    const file = spec.file;
    if (!file) throw new CliError('the real pendulum needs its data file: --data shared/data/schmidt-lipson/real_pend_h_1.txt');
    const seqLength = spec.seqLength ?? 20;
    const raw = loadRealPendulum(file);
    const names = raw.stateNames;
    const inputs = spec.inputs ? parseInputs(spec.inputs) : [{ name: 'q', unit: [0, 0, 0], text: '1' }, { name: 'p', unit: [0, 0, -1], text: '1/T' }];
    // Without --inputs the two columns are read as (q, p) of a pendulum, whatever the file calls them.
    if (!spec.inputs && names.length !== 2) {
      throw new CliError(`${file} has ${names.length} state columns (${names.join(', ')}): give each one's unit with --inputs NAME:UNIT,... (in that order)`);
    }
    if (spec.inputs && (inputs.length !== names.length || inputs.some((u, i) => u.name !== names[i]))) {
      throw new CliError(`--inputs names ${inputs.map((i) => i.name).join(', ')} but ${file} has state columns ${names.join(', ')} (in that order)`);
    }
    const ds = realPendulumDataset(file, { seqLength });
    const dt = medianStep([raw.raw.t]);
    const oracle = spec.source === 'real-pendulum' ? oracleOf('real-pendulum') : undefined;
    const name = spec.source === 'real-pendulum' ? 'real-pendulum' : file;
    const seqs = fromDataset(ds);
    if (seqs.nTrain < MIN_TRAIN) {
      throw new CliError(`${file}: --seq-length ${seqLength} cuts the training part into ${seqs.nTrain} sequence(s); discover needs at least ${MIN_TRAIN} (the search compares them): use a shorter --seq-length`);
    }
    return {
      name, system: systemOf(name, inputs), inputs: inputs.map((i) => ({ name: i.name, unit: i.text })), dt, dim: names.length, ...seqs,
      pairs: raw.train, weightDecay: 1e-5, oracle,
    };
  }
  // CSV
  const file = spec.file!;
  if (!spec.inputs) throw new CliError('--format csv needs --inputs NAME:UNIT,... naming the state columns and their units, e.g. --inputs q:1,p:M*L^2/T');
  const inputs = parseInputs(spec.inputs);
  const columns = { id: spec.idColumn ?? 'trajectory', time: spec.timeColumn ?? 't', state: inputs.map((i) => i.name) };
  const testFraction = spec.testFraction ?? 0.5;
  let set: ReturnType<typeof loadCsvTrajectories>;
  try {
    set = loadCsvTrajectories(file, { idColumn: columns.id, timeColumn: columns.time, stateColumns: columns.state, testFraction, seed: spec.seed, seqLength: spec.seqLength });
  } catch (e) {
    throw csvError(e, file, columns);
  }
  const dt = uniformStep([...set.train, ...set.test], file);
  checkCsvSplit(file, set, spec, testFraction);
  const T = set.train[0]!.t.length;
  const dim = inputs.length;
  const fd = set.train.map((tr) => (tr.dxdt ? tr : finiteDifferences(tr, dim)));
  return {
    name: file, system: systemOf('data', inputs), inputs: inputs.map((i) => ({ name: i.name, unit: i.text })), dt, T, dim,
    train: pack(set.train, T, dim), nTrain: set.train.length, test: pack(set.test, T, dim), nTest: set.test.length,
    pairs: flatPairs(fd, dim), weightDecay: 1e-5,
  };
}

/** Refuses a CSV split the pipeline cannot use (trajectories are split whole), saying what each split got and what to change. */
function checkCsvSplit(file: string, set: { train: Trajectory[]; test: Trajectory[] }, spec: DataSpec, testFraction: number): void {
  if (set.train.length >= MIN_TRAIN && set.test.length >= MIN_TEST) return;
  // Windows (--seq-length) are named 'id[start:end]': count the trajectories they came from.
  const count = (trs: Trajectory[]) => new Set(trs.map((tr) => String(tr.id).replace(/\[\d+:\d+\]$/, ''))).size;
  const [a, b] = [count(set.train), count(set.test)];
  const seqs = spec.seqLength ? ` (${set.train.length} and ${set.test.length} sequences of --seq-length ${spec.seqLength})` : '';
  const fixes = [a + b < MIN_TRAIN + MIN_TEST ? `give at least ${MIN_TRAIN + MIN_TEST} trajectories` : `${set.train.length < MIN_TRAIN ? 'lower' : 'raise'} --test-fraction`];
  // A training trajectory cut into windows gives several training sequences.
  if (a >= 1 && set.train.length < MIN_TRAIN) fixes.push(spec.seqLength ? 'use a shorter --seq-length' : 'cut the trajectories into shorter sequences with --seq-length N');
  throw new CliError(
    `${file}: ${a + b} trajector${a + b === 1 ? 'y' : 'ies'} split by --test-fraction ${testFraction} into ${a} for training and ${b} for testing${seqs}; ` +
      `discover needs at least ${MIN_TRAIN} training sequences (the search compares them) and ${MIN_TEST} test sequence: ${fixes.join(', or ')}`,
  );
}

/** The flag that names each CSV column, for the loader's 'column not found' errors. */
const COLUMN_FLAGS: Record<string, string> = { 'trajectory-id': '--id-column', time: '--time-column', state: '--inputs' };

/** A CSV loader error as one line naming the flag to fix; a missing id or time column suggests the header's other columns. */
function csvError(e: unknown, file: string, columns: { id: string; time: string; state: string[] }): unknown {
  if ((e as Error).name !== 'DataFileError') return e;
  const msg = (e as Error).message.replace(/\bseqLength\b/g, '--seq-length');
  const m = /(trajectory-id|time|state) column '[^']*' not found/.exec(msg);
  if (!m) return new CliError(msg);
  const flag = COLUMN_FLAGS[m[1]!]!;
  if (flag === '--inputs') return new CliError(`${msg}: name the state columns in --inputs`);
  const used = new Set([columns.id, columns.time, ...columns.state]);
  const others = csvHeader(file).filter((h) => !used.has(h));
  const hint = others.length === 1 ? `${flag} ${others[0]}` : `${flag} NAME${others.length ? ` (one of ${others.join(', ')})` : ''}`;
  return new CliError(`${msg}: give the ${m[1]} column with ${hint}`);
}

/** The one time step of every trajectory: the MLP is stepped by a fixed Δt, so uneven sampling is refused. */
function uniformStep(trs: Trajectory[], file: string): number {
  const dt = medianStep(trs.map((tr) => tr.t));
  for (const tr of trs) {
    for (let i = 1; i < tr.t.length; i++) {
      const h = tr.t[i]! - tr.t[i - 1]!;
      if (Math.abs(h - dt) > 1e-3 * dt) {
        throw new CliError(`${file}: trajectory '${tr.id ?? '?'}' steps from t = ${tr.t[i - 1]} to ${tr.t[i]} (Δt ${h.toPrecision(4)}), but discover steps the model by one fixed Δt (${dt.toPrecision(4)}, the median): resample the data to equal time steps`);
      }
    }
  }
  return dt;
}

/** Reads only the header of a Schmidt–Lipson file (column names), for messages. */
export function lipsonColumns(file: string): string[] {
  return parseLipson(readFileSync(file, 'utf8'), file).stateNames;
}

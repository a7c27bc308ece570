// A generic CSV loader for user trajectories: one row per sample, a trajectory-id
// column, a time column and named state columns; a seeded split by trajectory.
import type { ArrayDataset } from '@noether/core';
import { DataFileError, parseCell, readDataText, splitLines } from './errors.js';
import { seededSplit, trajectoryDataset, trajectoryLength, windowTrajectories, type Trajectory, type TrajectorySet } from './trajectories.js';

export interface CsvOptions {
  /** Column holding the trajectory id (any text). */
  idColumn: string;
  /** Column holding the time (must increase within a trajectory). */
  timeColumn: string;
  /** State columns, in the order they form the state vector. */
  stateColumns: string[];
  /** Share of trajectories held out for test (default 0.2), chosen by a seeded shuffle. */
  testFraction?: number;
  seed?: number;
  /** Trajectories with fewer samples are an error (default 2, or seqLength when given). */
  minLength?: number;
  /** Cut trajectories into windows of this many samples (otherwise all must be equally long). */
  seqLength?: number;
  stride?: number;
  /** Field separator; default: detected from the header (',', ';' or tab). */
  delimiter?: string;
}

/** Reads trajectories from a CSV file and splits them by trajectory. Fields may be quoted ("a b", with "" for
 * a quote inside, as R's write.csv writes them); a quoted field cannot span lines. */
export function loadCsvTrajectories(file: string, opts: CsvOptions): TrajectorySet {
  return parseCsvTrajectories(readDataText(file, 'CSV file'), file, opts);
}

/** The fields of one line; quotes are parsed only where the line has any (most lines are a plain split). */
function splitFields(line: string, delim: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(delim);
  const out: string[] = [];
  for (let i = 0; ; ) {
    const col = out.length + 1;
    let j = i;
    while (line[j] === ' ') j++;
    if (line[j] === '"') {
      let field = '';
      for (j++; ; j += 2) {
        const q = line.indexOf('"', j);
        if (q < 0) throw new DataFileError(file, lineNo, 'the quoted field has no closing quote; close it (a field cannot span lines)', col);
        field += line.slice(j, q);
        j = q;
        if (line[q + 1] !== '"') break;
        field += '"'; // "" inside quotes is one quote
      }
      j++;
      while (line[j] === ' ') j++;
      if (j < line.length && !line.startsWith(delim, j)) throw new DataFileError(file, lineNo, 'text after the closing quote; quote the whole field', col);
      out.push(field);
    } else {
      j = line.indexOf(delim, i);
      if (j < 0) j = line.length;
      const field = line.slice(i, j);
      if (field.includes('"')) throw new DataFileError(file, lineNo, 'a quote inside an unquoted field; quote the whole field and double the quotes inside it', col);
      out.push(field);
    }
    if (j >= line.length) return out;
    i = j + delim.length;
  }
}

/** The first non-blank line: its column names, index and delimiter (given, else the first of ',', ';', tab it holds). */
function readHeader(lines: string[], file: string, delimiter?: string): { header: string[]; headerIdx: number; delim: string } {
  const headerIdx = lines.findIndex((l) => l.trim() !== '');
  if (headerIdx < 0) throw new DataFileError(file, undefined, 'the file is empty; expected a header row naming the columns');
  const headerLine = lines[headerIdx]!;
  const delim = delimiter ?? ([',', ';', '\t'].find((c) => headerLine.includes(c)) ?? ',');
  return { header: splitFields(headerLine, delim, file, headerIdx + 1).map((h) => h.trim()), headerIdx, delim };
}

/** The column names of a CSV file's header, read as the loader reads them (quotes, delimiters, line ends). */
export function csvHeader(file: string, delimiter?: string): string[] {
  return readHeader(splitLines(readDataText(file, 'CSV file')), file, delimiter).header;
}

export function parseCsvTrajectories(text: string, file: string, opts: CsvOptions): TrajectorySet {
  if (opts.stateColumns.length === 0) throw new Error('CSV loader: stateColumns must name at least one column');
  const lines = splitLines(text);
  const { header, headerIdx, delim } = readHeader(lines, file, opts.delimiter);
  const roleOf = new Map<string, string>();
  const colOf = (name: string, role: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new DataFileError(file, headerIdx + 1, `${role} column '${name}' not found; the header has: ${header.map((h) => `'${h}'`).join(', ')}`);
    const j = header.lastIndexOf(name);
    if (j !== i) throw new DataFileError(file, headerIdx + 1, `the header names column '${name}' twice (columns ${i + 1} and ${j + 1}); rename one`);
    // One column in two roles (say the time column also as a state) would load without complaint and mean nothing.
    const other = roleOf.get(name);
    if (other) throw new DataFileError(file, headerIdx + 1, `column '${name}' is given as both the ${other} column and a ${role} column; each role needs its own column`);
    roleOf.set(name, role);
    return i;
  };
  const idCol = colOf(opts.idColumn, 'trajectory-id');
  const tCol = colOf(opts.timeColumn, 'time');
  const xCols = opts.stateColumns.map((c) => colOf(c, 'state'));
  const d = xCols.length;

  const groups = new Map<string, { t: number[]; x: number[]; line: number; lastLine: number }>();
  for (let i = headerIdx + 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const lineNo = i + 1;
    const cells = splitFields(lines[i]!, delim, file, lineNo);
    if (cells.length !== header.length) {
      throw new DataFileError(file, lineNo, `has ${cells.length} fields, the header has ${header.length}`);
    }
    const id = cells[idCol]!.trim();
    if (id === '') throw new DataFileError(file, lineNo, `trajectory id ('${opts.idColumn}') is empty`, idCol + 1);
    const t = parseCell(cells[tCol]!, file, lineNo, tCol + 1, `time '${opts.timeColumn}'`);
    const g = groups.get(id) ?? { t: [], x: [], line: lineNo, lastLine: lineNo };
    if (g.t.length > 0 && !(t > g.t[g.t.length - 1]!)) {
      throw new DataFileError(file, lineNo, `time ${t} of trajectory '${id}' does not increase (line ${g.lastLine} has ${g.t[g.t.length - 1]})`, tCol + 1);
    }
    g.t.push(t);
    xCols.forEach((c, j) => g.x.push(parseCell(cells[c]!, file, lineNo, c + 1, `state '${opts.stateColumns[j]}'`)));
    g.lastLine = lineNo;
    groups.set(id, g);
  }
  if (groups.size === 0) throw new DataFileError(file, undefined, 'has a header but no data rows');
  // seqLength 0 is a bad window length (windowTrajectories says so), not "no windows".
  const windowed = opts.seqLength !== undefined;
  const minLength = opts.minLength ?? opts.seqLength ?? 2;
  const trajectories: Trajectory[] = [];
  for (const [id, g] of groups) {
    if (g.t.length < minLength) {
      throw new DataFileError(file, g.line, `trajectory '${id}' has ${g.t.length} samples, fewer than the ${minLength} required${windowed ? ` (seqLength ${opts.seqLength})` : ''}; drop it or lower ${windowed ? 'seqLength' : 'minLength'}`);
    }
    trajectories.push({ t: Float64Array.from(g.t), x: Float64Array.from(g.x), id });
  }
  if (!windowed) {
    const T = trajectoryLength(trajectories[0]!, d);
    const odd = trajectories.find((tr) => trajectoryLength(tr, d) !== T);
    if (odd) {
      throw new DataFileError(file, groups.get(odd.id!)!.line, `ragged trajectories: '${trajectories[0]!.id}' has ${T} samples but '${odd.id}' has ${trajectoryLength(odd, d)}; give seqLength to cut equal windows`);
    }
  }
  const split = seededSplit(trajectories, opts.testFraction ?? 0.2, opts.seed ?? 0);
  const win = (trs: Trajectory[]) => (windowed ? windowTrajectories(trs, d, opts.seqLength!, opts.stride) : trs);
  return { name: file.split(/[\\/]/).pop()!, stateNames: [...opts.stateColumns], train: win(split.train), test: win(split.test) };
}

/** The CSV trajectories as a Dataset (obsShape [stateColumns.length]). */
export function csvDataset(file: string, opts: CsvOptions): ArrayDataset {
  return trajectoryDataset(loadCsvTrajectories(file, opts));
}

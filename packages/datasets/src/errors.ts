// Reading text data files: errors that say where (file:line[:column]) and what to fix.
import { readFileSync } from 'node:fs';

export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}${column !== undefined ? `:${column}` : ''}: ${message}`);
    this.name = 'DataFileError';
  }
}

/** The file as text without a byte-order mark, or a DataFileError naming it (`what`: e.g. 'CSV file'; `hint`: where to get it). */
export function readDataText(file: string, what: string, hint = ''): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataFileError(file, undefined, `cannot read the ${what} (${(e as Error).message})${hint ? `; ${hint}` : ''}`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Lines ending in \n, \r\n or a lone \r (what spreadsheets on old Macs still write). */
export const splitLines = (text: string): string[] => text.split(/\r\n|\r|\n/);

/** A finite float that float32 tensors can hold, or a DataFileError naming the cell. */
export function parseCell(cell: string, file: string, line: number, column: number, what: string): number {
  const s = cell.trim();
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    throw new DataFileError(file, line, `${what} is ${s === '' ? 'empty' : `'${s}'`}, expected a finite number`, column);
  }
  // Tensors are float32: a larger value would train as ±Infinity.
  if (!Number.isFinite(Math.fround(v))) {
    throw new DataFileError(file, line, `${what} is ${s}, beyond float32's range (±3.4e38); rescale the column`, column);
  }
  return v;
}

// Data-file errors that say where (file:line[:column]) and what to fix.
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

/** A finite float, or a DataFileError naming the cell. */
export function parseCell(cell: string, file: string, line: number, column: number, what: string): number {
  const s = cell.trim();
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    throw new DataFileError(file, line, `${what} is ${s === '' ? 'empty' : `'${s}'`}, expected a finite number`, column);
  }
  return v;
}

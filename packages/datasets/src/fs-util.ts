// File writes shared by the writers here and by apps/cli: one implementation, so every file the
// project writes is either the old one or the whole new one, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Create the target's folder (and its parents) when missing; default true. */
  createDir?: boolean;
}

let counter = 0;

/**
 * Writes data to path atomically: a hidden temp file beside the target (`.name.tmp-PID-N`), fsync,
 * then a rename over the target. A crash, even kill -9 or a power cut, leaves the old file or the
 * new one; a failed write (disk full, target is a folder) leaves no temp file behind.
 */
export function atomicWriteFile(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  if (opts.createDir ?? true) mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
      // Without it the rename can reach the disk before the data does: after a crash, an empty file.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

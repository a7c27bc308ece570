// What a command may touch of the outside world, so main() runs in-process in tests
// with captured output, a fake TTY and a fake Ctrl-C.
import { resolve } from 'node:path';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress rewrites one line. */
  isTTY: boolean;
  columns: number;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Calls handler on Ctrl-C (SIGINT); returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    columns: process.stderr.columns ?? 100,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

export function resolvePath(io: Io, p: string): string {
  return resolve(io.cwd, p);
}

// Exit codes scripts can rely on, and the error kinds that map onto them. Anything the
// user can fix (a flag, a file, a config field) is a CliError with one clear line.

export const EXIT = {
  OK: 0,
  /** Runtime failure (a bug, I/O error, a plugin that threw). */
  FAILURE: 1,
  /** Usage or bad input: unknown flag, missing file, invalid config, corrupt checkpoint. */
  USAGE: 2,
  /** Training stopped on a NaN/Inf loss or gradient; the last good checkpoint is kept. */
  NON_FINITE: 3,
  /** Interrupted (Ctrl-C / SIGINT); a checkpoint was written when training. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem the user can fix; `message` names it and the fix, in one line. */
export class CliError extends Error {
  constructor(message: string, readonly code: ExitCode = EXIT.USAGE) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error (bad flag or argument); the command's help hint is appended. */
export class UsageError extends CliError {
  constructor(message: string, readonly helpHint?: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    runtime failure
  2    usage error or bad input (flag, file, config, checkpoint, run directory, backend)
  3    training stopped on a non-finite (NaN/Inf) loss or gradient
  130  interrupted (Ctrl-C); training writes a checkpoint first`;

// What each Node fs error on a path means to someone choosing where output goes, and the fix.
const FS_PROBLEMS: Record<string, [what: string, fix: string]> = {
  ENOENT: ['does not exist', 'create the folder first or fix the path'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'choose a path inside a folder'],
  EEXIST: ['already exists', 'choose a new path or remove the old one'],
  EISDIR: ['is a folder, not a file', 'give a file path, or move the folder away'],
  EACCES: ['permission denied', 'choose a location you can write to, or fix its permissions'],
  EPERM: ['operation not permitted', 'choose a location you can write to, or fix its permissions'],
  EROFS: ['is on a read-only file system', 'choose a writable location'],
};

/**
 * A Node fs error on a path (ENOENT, ENOTDIR, EACCES, ...) as a CliError (exit 2) naming the path, what is
 * wrong and the fix; `flag` (e.g. '--out') names where the path came from. Other errors: undefined.
 */
export function fsPathError(e: unknown, flag?: string): CliError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  const problem = err?.code ? FS_PROBLEMS[err.code] : undefined;
  if (!problem || typeof err?.path !== 'string') return undefined;
  const [what, fix] = problem;
  return new CliError(`${flag ? `${flag}: ` : ''}${err.path}: ${what} (${err.code}); ${fix}`);
}

/** First line of a message, so nothing multi-line (e.g. a stack) reaches the user. */
export function oneLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.trim();
}

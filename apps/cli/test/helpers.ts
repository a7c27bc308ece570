// In-process harness: run main() with captured stdout/stderr, a chosen TTY-ness and a
// Ctrl-C we can trigger from the test.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.js';
import type { Io } from '../src/cli/io.js';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

export interface RunOptions {
  isTTY?: boolean;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each stderr chunk; may call interrupt(). */
  onErr?: (chunk: string, interrupt: () => void) => void;
}

export async function run(argv: string[], o: RunOptions = {}): Promise<Captured> {
  let out = '';
  let err = '';
  let handler: (() => void) | undefined;
  const interrupt = () => handler?.();
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => {
      err += t;
      o.onErr?.(t, interrupt);
    },
    isTTY: o.isTTY ?? false,
    columns: 200,
    env: o.env ?? {},
    cwd: o.cwd ?? process.cwd(),
    onInterrupt: (h) => {
      handler = h;
      return () => (handler = undefined);
    },
  };
  const code = await main(argv, io);
  return { code, out, err };
}

export function tmp(prefix = 'noether-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Headless Chromium where installed (.ci/run installs it); the tests that need it skip without. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Chromium flags for a headless test run: a throwaway profile, no sandbox (containers run as
 * root), no GPU, no background network traffic. */
export function chromiumArgs(): string[] {
  const profile = tmp('noether-chromium-');
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`];
}

/** A tiny toy run: 16 train sequences, batch 8 → 2 steps per epoch per phase. */
export const TINY = ['--backend', 'cpu', '--quick', '--set', 'dataset.nTrain=16', '--set', 'dataset.nTest=8', '--set', 'dataset.seqLength=6', '--no-progress'];

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The loss of the last training row of metrics.csv. */
export function finalLoss(runDir: string): number {
  const lines = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const train = lines.slice(1).map((l) => l.split(',')).filter((c) => c[0] === 'train');
  return Number(train[train.length - 1]![head.indexOf('loss')]);
}

/** No stack trace lines in what the user sees. */
export function hasStack(s: string): boolean {
  return /\n\s+at .+:\d+:\d+/.test(s);
}

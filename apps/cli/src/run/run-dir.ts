// A run directory: everything one run produced, enough to resume, evaluate and report it.
//   config.json   the fully resolved config (after file, flags and defaults)
//   meta.json     seed, backend, versions, start time, run-directory format
//   metrics.csv   one row per training step and per evaluated metric (appended, flushed)
//   checkpoints/  <phase>/step-NNNNNNNN/{manifest.json,weights.bin} + <phase>/latest.json
//   plots/        PNG curves (and frame grids for image data)
//   result.json   status and the result table, when the run ends
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { CheckpointError, ConfigError, decodeMetaState, encodeMetaState, validate, type ExperimentConfig, type MetaState } from '@noether/core';
import { CliError, EXIT } from '../cli/errors.js';
import { checkOutputDir, createOutputDir } from '../cli/output.js';
import { writeFileAtomic, writeJsonAtomic } from './fs-atomic.js';
import { RUN_FORMAT, cliVersion, packageVersions } from './versions.js';

// What meta.json and result.json must hold to be read (report, eval, resume).
const metaSchema = z.object({
  runFormat: z.number(),
  noetherVersion: z.string(),
  name: z.string(),
  experiment: z.string().optional(),
  seed: z.number(),
  backend: z.string(),
  versions: z.record(z.string(), z.string()),
  node: z.string(),
  startedAt: z.string(),
  command: z.array(z.string()),
  /** Users' plugin modules (--plugin), as absolute paths: eval, analyze and --resume load them again. */
  plugins: z.array(z.string()).optional(),
  /** Set by runs whose cn/latent tailoring steps each sequence at the full inner lr (see stale-tailoring.ts). */
  perSequenceTailoring: z.boolean().optional(),
  /** Each --resume: when, from which step of each phase, and on which backend (absent in older runs). */
  resumes: z.array(z.object({ at: z.string(), fromStep: z.record(z.string(), z.number()), backend: z.string().optional() })),
});
export type RunMeta = z.infer<typeof metaSchema>;

// JSON has no NaN or Infinity: JSON.stringify writes a non-finite loss or metric as null.
const resultSchema = z.object({
  status: z.enum(['completed', 'interrupted', 'non-finite', 'failed']),
  message: z.string().optional(),
  finishedAt: z.string(),
  finalLoss: z.record(z.string(), z.number().nullable()),
  steps: z.record(z.string(), z.number()),
  table: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
});

export const METRICS_HEADER = ['kind', 'phase', 'step', 'epoch', 'loss', 'grad_norm_theta', 'grad_norm_phi', 'metric', 'untailored', 'tailored', 'elapsed_s'] as const;
export type MetricsRow = Partial<Record<(typeof METRICS_HEADER)[number], string | number>>;

export interface ResultRow {
  [column: string]: string | number;
}

export interface RunResult {
  status: 'completed' | 'interrupted' | 'non-finite' | 'failed';
  message?: string;
  finishedAt: string;
  /** Final training loss per phase. */
  finalLoss: Record<string, number>;
  steps: Record<string, number>;
  /** The result table (e.g. model × metric). */
  table: ResultRow[];
}

export interface LatestPointer {
  step: number;
  dir: string;
  done: boolean;
}

const KEEP = 2;

function pad(n: number): string {
  return String(n).padStart(8, '0');
}

export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

export class RunDir {
  private constructor(readonly path: string, public meta: RunMeta) {}

  get configPath(): string {
    return join(this.path, 'config.json');
  }

  /**
   * Checks, before anything is computed, that a new run can be created at `path` (given as --out):
   * absent or empty, so no file of the user's is overwritten; a run there is resumed, not replaced.
   */
  static checkNew(path: string): void {
    checkOutputDir(path, '--out', (p) =>
      existsSync(join(p, 'meta.json'))
        ? `${p} already holds a run: continue it with --resume ${p}, or choose another --out`
        : `--out ${p} is a folder that is not empty and holds no run: choose an empty or new folder (or --resume RUN to continue a run)`,
    );
  }

  /** Creates a fresh run directory (see checkNew); if that fails, removes what it created. */
  static create(path: string, config: ExperimentConfig, meta: Omit<RunMeta, 'runFormat' | 'noetherVersion' | 'versions' | 'node' | 'startedAt' | 'resumes'>): RunDir {
    RunDir.checkNew(path);
    const undo = createOutputDir(path, '--out');
    try {
      mkdirSync(join(path, 'checkpoints'));
      mkdirSync(join(path, 'plots'));
      const full: RunMeta = {
        runFormat: RUN_FORMAT,
        noetherVersion: cliVersion(),
        ...meta,
        versions: packageVersions(),
        node: process.version,
        startedAt: new Date().toISOString(),
        resumes: [],
        perSequenceTailoring: true,
      };
      writeJsonAtomic(join(path, 'config.json'), config);
      writeJsonAtomic(join(path, 'meta.json'), full);
      writeFileAtomic(join(path, 'metrics.csv'), METRICS_HEADER.join(',') + '\n');
      return new RunDir(path, full);
    } catch (e) {
      undo();
      throw e;
    }
  }

  /** Opens an existing run directory; a missing one, or one of another format, is a CliError. */
  static open(path: string): RunDir {
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new CliError(`${existsSync(path) ? `${path} is a file, not a run directory` : `run directory not found: ${path}`} (give a directory created by 'noether train' or 'noether experiment')`);
    }
    const metaPath = join(path, 'meta.json');
    if (!existsSync(metaPath)) throw new CliError(`${path} is not a run directory (no meta.json): give a directory created by 'noether train' or 'noether experiment'`);
    const damaged = 'the run directory is damaged; start a new run';
    const raw = readJsonFile(metaPath, damaged) as Partial<RunMeta> | null;
    // The format first: another version's meta.json may rightly hold other fields.
    if (raw?.runFormat !== RUN_FORMAT) {
      throw new CliError(
        `${path} was written by noether ${raw?.noetherVersion ?? '(unknown version)'} (run format ${raw?.runFormat ?? 'unknown'}); ` +
          `this is noether ${cliVersion()} (run format ${RUN_FORMAT}): use that version to resume or evaluate it, or start a new run`,
      );
    }
    return new RunDir(path, validateFile(metaSchema, raw, metaPath, damaged));
  }

  readConfig(): unknown {
    return readJsonFile(this.configPath, 'the run directory is damaged');
  }

  saveMeta(): void {
    writeJsonAtomic(join(this.path, 'meta.json'), this.meta);
  }

  // ---- metrics.csv -------------------------------------------------------------

  appendMetrics(rows: MetricsRow[]): void {
    if (!rows.length) return;
    const text = rows.map((r) => METRICS_HEADER.map((h) => csvCell(r[h])).join(',')).join('\n') + '\n';
    // appendFileSync opens, writes and closes: each row reaches the file before the next step.
    appendFileSync(join(this.path, 'metrics.csv'), text);
  }

  readMetrics(): MetricsRow[] {
    return readMetricsCsv(join(this.path, 'metrics.csv'));
  }

  /** Drops training rows of `phase` beyond `step` (written after the checkpoint a resume starts from)
   * and the phase's evaluation rows (Infinity: only those). */
  truncateMetrics(phase: string, step: number): void {
    const f = join(this.path, 'metrics.csv');
    // Not a file (damaged run dir): nothing to drop; the append that follows names the problem.
    if (!existsSync(f) || !statSync(f).isFile()) return;
    const lines = readFileSync(f, 'utf8').split('\n').filter((l) => l);
    const keep = lines.filter((l, i) => {
      if (i === 0) return true;
      const c = l.split(',');
      return !(c[1] === phase && Number(c[2]) > step) && !(c[0] === 'eval' && c[1] === phase);
    });
    writeFileAtomic(f, keep.join('\n') + '\n');
  }

  // ---- checkpoints ---------------------------------------------------------------

  private phaseDir(phase: string): string {
    return join(this.path, 'checkpoints', phase);
  }

  /** Writes a checkpoint atomically (temp directory, then rename, then the latest pointer), keeping the last few. */
  saveCheckpoint(phase: string, state: MetaState, done = false): LatestPointer {
    const dir = this.phaseDir(phase);
    mkdirSync(dir, { recursive: true });
    const { manifest, data } = encodeMetaState(state, { phase });
    // decodeMetaState catches truncation; the checksum also catches bytes changed in place.
    manifest.meta['sha256'] = sha256(data);
    const name = `step-${pad(state.step)}`;
    const tmp = join(dir, `.tmp-${name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeFileAtomic(join(tmp, 'weights.bin'), data);
    writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
    const final = join(dir, name);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    const ptr: LatestPointer = { step: state.step, dir: name, done };
    writeJsonAtomic(join(dir, 'latest.json'), ptr);
    const old = readdirSync(dir).filter((f) => /^step-\d+$/.test(f)).sort();
    for (const f of old.slice(0, Math.max(0, old.length - KEEP))) rmSync(join(dir, f), { recursive: true, force: true });
    return ptr;
  }

  /** The resolved config a phase trains with (a phase may differ from config.json, e.g. mode). */
  savePhaseConfig(phase: string, config: ExperimentConfig): void {
    mkdirSync(this.phaseDir(phase), { recursive: true });
    writeJsonAtomic(join(this.phaseDir(phase), 'config.json'), config);
  }

  readPhaseConfig(phase: string): unknown {
    const f = join(this.phaseDir(phase), 'config.json');
    return existsSync(f)
      ? readJsonFile(f, `the run directory is damaged: restore the file, or delete ${this.phaseDir(phase)} and resume the run to train that phase again`)
      : this.readConfig();
  }

  latest(phase: string): LatestPointer | undefined {
    const f = join(this.phaseDir(phase), 'latest.json');
    if (!existsSync(f)) return undefined;
    try {
      const p = JSON.parse(readFileSync(f, 'utf8')) as LatestPointer;
      if (typeof p.step !== 'number' || typeof p.dir !== 'string') throw new Error('missing step or dir');
      // Only a checkpoint folder of this phase: never a path that leads out of it.
      if (!/^step-\d+$/.test(p.dir)) throw new Error(`dir '${p.dir}' is not a step-NNNNNNNN folder`);
      return p;
    } catch (e) {
      throw new CliError(`corrupt checkpoint pointer ${f} (${(e as Error).message}): delete ${join(this.path, 'checkpoints', phase)} to restart that phase`);
    }
  }

  /** Phases with a checkpoint. */
  phases(): string[] {
    const d = join(this.path, 'checkpoints');
    return existsSync(d) ? readdirSync(d).filter((f) => existsSync(join(d, f, 'latest.json'))) : [];
  }

  /** Loads the latest checkpoint of a phase into a state shaped like `like`; corrupt data is a CliError (exit 2). */
  loadCheckpoint(phase: string, like: MetaState): { state: MetaState; pointer: LatestPointer } | undefined {
    const ptr = this.latest(phase);
    if (!ptr) return undefined;
    const dir = join(this.phaseDir(phase), ptr.dir);
    const where = `checkpoint ${dir}`;
    const fix = `delete ${this.phaseDir(phase)} to restart that phase, or start a new run`;
    let manifest: unknown;
    let data: Uint8Array;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      data = new Uint8Array(readFileSync(join(dir, 'weights.bin')));
    } catch (e) {
      throw new CliError(`cannot read ${where}: ${oneLineMsg(e)}; ${fix}`);
    }
    try {
      const { state, meta } = decodeMetaState(manifest, data, where, like);
      if (typeof meta['sha256'] === 'string' && meta['sha256'] !== sha256(data)) {
        throw new CheckpointError(`${where}: weights.bin does not match its checksum (the file is corrupt)`);
      }
      if (state.step !== ptr.step) throw new CheckpointError(`${where}: holds step ${state.step} but latest.json says ${ptr.step}`);
      return { state, pointer: ptr };
    } catch (e) {
      if (e instanceof CheckpointError || (e as Error).name === 'ConfigError') throw new CliError(`${oneLineMsg(e)}; ${fix}`);
      throw e;
    }
  }

  // ---- results and plots ---------------------------------------------------------

  writeResult(r: RunResult): void {
    writeJsonAtomic(join(this.path, 'result.json'), r);
  }

  /** result.json, or undefined while the run has none; a damaged one is a CliError naming the file and field. */
  readResult(): RunResult | undefined {
    const f = join(this.path, 'result.json');
    if (!existsSync(f)) return undefined;
    const fix = 'the run directory is damaged: delete result.json to treat the run as unfinished, or resume it';
    // null stands for a non-finite number (see resultSchema); the readers format it as such.
    return validateFile(resultSchema, readJsonFile(f, fix), f, fix) as RunResult;
  }

  writePlot(name: string, png: Uint8Array): string {
    const dir = join(this.path, 'plots');
    mkdirSync(dir, { recursive: true }); // a run copied without its plots/ still takes new ones
    const f = join(dir, name.endsWith('.png') ? name : `${name}.png`);
    writeFileAtomic(f, png);
    return f;
  }

  /** Writes analysis/<name> atomically. The folder is made with the first file written, so an
   * analysis that fails (bad flag found late, no checkpoint, Ctrl-C) leaves no empty analysis/. */
  writeAnalysis(name: string, data: string | Uint8Array): string {
    const dir = join(this.path, 'analysis');
    mkdirSync(dir, { recursive: true });
    const f = join(dir, name);
    writeFileAtomic(f, data);
    return f;
  }

  get name(): string {
    return basename(this.path);
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A JSON file of the run; one that cannot be read or parsed is a CliError naming it, with `fix`. */
function readJsonFile(file: string, fix: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${oneLineMsg(e)}; ${fix}`);
  }
}

/** Validates a file's parsed contents; a missing or mistyped field is a CliError naming the file and the field. */
function validateFile<S extends z.ZodType>(schema: S, raw: unknown, file: string, fix: string): z.infer<S> {
  try {
    return validate(schema, raw, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${e.message}; ${fix}`);
    throw e;
  }
}

function oneLineMsg(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return String(v);
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Reads a metrics.csv written by RunDir (no quoted commas in numeric columns). */
export function readMetricsCsv(path: string): MetricsRow[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l);
  const head = lines[0]?.split(',') ?? [];
  return lines.slice(1).map((l) => {
    const c = l.split(',');
    const row: MetricsRow = {};
    head.forEach((h, i) => {
      const v = c[i];
      if (v !== undefined && v !== '') (row as Record<string, string | number>)[h] = /^-?[\d.]+(e[-+]?\d+)?$|^-?Infinity$|^NaN$/i.test(v) ? Number(v) : v;
    });
    return row;
  });
}

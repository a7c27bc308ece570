// Physics 101 "ramp" clips at 20° (the Noether Networks video experiment),
// decoded with the ffmpeg binary and streamed in batches with prefetch.
// Per clip, as the reference: every 2nd frame, the middle 22, a centre square
// crop, a resize, optionally one horizontal flip decision for the whole clip.
// Unlike the reference loader, clip i of a split really is clip i (see README).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Rng, deriveSeed, tf, type Batch, type BatchOptions, type Dataset, type Split } from '@noether/core';
import { DataFileError } from './errors.js';
import { atomicWriteFile } from './fs-util.js';
import { prefetchMap } from './prefetch.js';

export interface Phys101Options {
  /** The extracted data set: a folder holding scenarios/ramp (or phys101/scenarios/ramp), or the ramp folder itself. */
  root: string;
  /** Output side in pixels (64 or 128; 128 in the paper). */
  imageSize?: number;
  /** Frames per clip after subsampling (22) and the subsampling step (2). */
  seqLength?: number;
  frameStep?: number;
  /** Angle/setting folders to use (['20_01', '20_02']). */
  settings?: string[];
  /** Random horizontal flip, one decision per clip and epoch (seeded): 'none' (default), 'train' or 'all'. */
  flip?: 'none' | 'train' | 'all';
  /** Seed of the fixed shuffled split (default 1). */
  seed?: number;
  /** Clips decoded ahead of the consumer (default 4): bounds memory. */
  prefetch?: number;
  /** Skip (and count) missing, corrupt, short or misplaced clips instead of throwing. */
  skipBad?: boolean;
  /** Optional JSON cache of probed frame counts (keyed by path, size and mtime), written atomically. */
  indexCache?: string;
  ffmpeg?: string;
  ffprobe?: string;
}

export interface ClipInfo {
  /** Absolute path of Kinect_RGB_1.mp4. */
  file: string;
  /** Path relative to the ramp folder, e.g. p_block_10/20_01/05/Kinect_RGB_1.mp4. */
  rel: string;
  /** Frame count from the container. */
  frames: number;
}

export interface SkippedClip {
  file: string;
  reason: string;
}

const CAMERA = 'Kinect_RGB_1.mp4';
const LAYOUT = 'scenarios/ramp/<object>_<NN>/20_0{1,2}/<trial>/Kinect_RGB_1.mp4';
export const PHYS101_TRAIN = 311;
export const PHYS101_TEST = 78;

/** Finds the ramp folder under root, or throws naming the expected layout. */
export function findRampDir(root: string): string {
  for (const c of [join(root, 'scenarios', 'ramp'), join(root, 'phys101', 'scenarios', 'ramp')]) if (existsSync(c)) return c;
  if (basename(root) === 'ramp' && existsSync(root)) return root;
  throw new Error(`Physics 101: no ramp folder under ${root}; expected ${root}/${LAYOUT} (unzip phys101_v1.0.zip from phys101.csail.mit.edu there)`);
}

interface Found {
  clips: { file: string; rel: string }[];
  bad: SkippedClip[];
}

/** Walks <object>_<NN>/<setting>/<trial>/Kinect_RGB_1.mp4; misplaced or missing entries become `bad`. */
export function listRampClips(rampDir: string, settings: string[] = ['20_01', '20_02']): Found {
  const clips: Found['clips'] = [];
  const bad: SkippedClip[] = [];
  const dirs = (p: string) => readdirSync(p).filter((n) => !n.startsWith('.')).sort();
  // A dangling link or an entry that vanished is a misplaced entry like any other, not a raw ENOENT.
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  for (const obj of dirs(rampDir)) {
    const objDir = join(rampDir, obj);
    if (!isDir(objDir) || !/^[a-z][a-z_]*_\d{2}$/.test(obj)) {
      bad.push({ file: objDir, reason: `unexpected entry in the ramp folder; expected object folders like p_block_10 (layout ${LAYOUT})` });
      continue;
    }
    for (const setting of dirs(objDir)) {
      if (!settings.includes(setting)) continue; // other angles (10_0x) are not used
      const sDir = join(objDir, setting);
      if (!isDir(sDir)) {
        bad.push({ file: sDir, reason: `expected a folder of trials (layout ${LAYOUT})` });
        continue;
      }
      for (const trial of dirs(sDir)) {
        const tDir = join(sDir, trial);
        if (!isDir(tDir) || !/^\d+$/.test(trial)) {
          bad.push({ file: tDir, reason: `unexpected entry; expected numbered trial folders such as 05 (layout ${LAYOUT})` });
          continue;
        }
        const file = join(tDir, CAMERA);
        if (!existsSync(file)) {
          bad.push({ file, reason: `missing video: the trial folder has no ${CAMERA}` });
          continue;
        }
        clips.push({ file, rel: relative(rampDir, file).split('\\').join('/') });
      }
    }
  }
  return { clips, bad };
}

function run(cmd: string, args: string[], what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error(`${cmd} not found: install ffmpeg (apt-get install ffmpeg) or pass its path (ffmpeg / ffprobe options)`) : e);
    });
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${what}: ${cmd} exited with code ${code}: ${Buffer.concat(err).toString().trim().split('\n').slice(-3).join(' | ') || 'no message'}`));
    });
  });
}

// Process start-up dominates on small clips, so each check and probe runs once per process.
const checked = new Map<string, Promise<void>>();
const probed = new Map<string, number>();

/** Throws the install hint when ffmpeg or ffprobe cannot run (checked once per process). */
export function checkFfmpeg(ffmpeg = 'ffmpeg', ffprobe = 'ffprobe'): Promise<void> {
  const key = `${ffmpeg}\0${ffprobe}`;
  let p = checked.get(key);
  if (!p) {
    p = Promise.all([run(ffmpeg, ['-version'], 'ffmpeg -version'), run(ffprobe, ['-version'], 'ffprobe -version')]).then(() => undefined);
    p.catch(() => checked.delete(key)); // retry after the user installs it
    checked.set(key, p);
  }
  return p;
}

/** Frame count of a video from its container (counting packets when the header lacks it). */
export async function probeFrameCount(file: string, ffprobe = 'ffprobe'): Promise<number> {
  const what = `${file}: cannot read the video (corrupt or not a video?)`;
  const json = JSON.parse((await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=nb_frames', '-of', 'json', file], what)).toString());
  let n = Number(json.streams?.[0]?.nb_frames);
  if (!json.streams?.length) throw new Error(`${what}: no video stream`);
  if (!Number.isFinite(n) || n <= 0) {
    const j2 = JSON.parse((await run(ffprobe, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'json', file], what)).toString());
    n = Number(j2.streams?.[0]?.nb_read_packets);
  }
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what}: no frames`);
  return n;
}

export interface ClipDecodeOptions {
  imageSize: number;
  seqLength: number;
  frameStep: number;
  flip: boolean;
  ffmpeg?: string;
}

/**
 * Decodes one clip: every frameStep-th frame, the middle seqLength of those, centre
 * square crop, area-resampled to imageSize² — [seqLength, S, S, 3] floats in [0, 1].
 */
export async function decodeClip(file: string, o: ClipDecodeOptions): Promise<Float32Array> {
  if (!existsSync(file)) throw new DataFileError(file, undefined, 'missing video');
  const S = o.imageSize;
  const vf = `select=not(mod(n\\,${o.frameStep})),crop='min(iw,ih)':'min(iw,ih)',scale=${S}:${S}:flags=area${o.flip ? ',hflip' : ''}`;
  const raw = await run(o.ffmpeg ?? 'ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-vf', vf, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], `${file}: cannot decode the video (corrupt?)`);
  const fb = S * S * 3;
  const n = Math.floor(raw.length / fb);
  if (n < o.seqLength) {
    throw new DataFileError(file, undefined, `short clip: ${n} frames after taking every ${o.frameStep}${o.frameStep === 2 ? 'nd' : 'th'}, need ${o.seqLength}`);
  }
  const start = Math.floor((n - o.seqLength) / 2);
  const out = new Float32Array(o.seqLength * fb);
  const src = raw.subarray(start * fb, (start + o.seqLength) * fb);
  for (let i = 0; i < out.length; i++) out[i] = src[i]! / 255;
  return out;
}

/**
 * The fixed split: clips sorted by path, shuffled with the seed; with ≥ 389 clips
 * the first 311 train and the next 78 test (the reference's counts), otherwise
 * the same 311:78 proportion (at least one test clip when there are two or more).
 */
export function phys101Split<T>(clips: T[], seed: number): { train: T[]; test: T[] } {
  const order = new Rng(deriveSeed(seed, 'phys101/split')).permutation(clips.length).map((i) => clips[i]!);
  if (order.length >= PHYS101_TRAIN + PHYS101_TEST) return { train: order.slice(0, PHYS101_TRAIN), test: order.slice(PHYS101_TRAIN, PHYS101_TRAIN + PHYS101_TEST) };
  let nTrain = Math.round((order.length * PHYS101_TRAIN) / (PHYS101_TRAIN + PHYS101_TEST));
  if (order.length >= 2) nTrain = Math.min(nTrain, order.length - 1);
  return { train: order.slice(0, nTrain), test: order.slice(nTrain) };
}

export class Physics101Dataset implements Dataset {
  readonly name = 'physics101-ramp';
  readonly obsShape: readonly number[];
  readonly seqLength: number;
  /** Clips left out or that failed (only with skipBad; otherwise they throw). Grows while decoding. */
  readonly skipped: SkippedClip[] = [];
  /** Clips that exist but are too short after subsampling (excluded like the reference). */
  readonly tooShort: ClipInfo[];
  private readonly split: Record<Split, ClipInfo[]>;

  private constructor(
    private readonly o: Required<Omit<Phys101Options, 'indexCache'>>,
    split: Record<Split, ClipInfo[]>,
    tooShort: ClipInfo[],
    skipped: SkippedClip[],
  ) {
    this.obsShape = [o.imageSize, o.imageSize, 3];
    this.seqLength = o.seqLength;
    this.split = split;
    this.tooShort = tooShort;
    this.skipped.push(...skipped);
  }

  /** Indexes the clips (ffprobe per clip, or the cache) and fixes the split. */
  static async open(opts: Phys101Options): Promise<Physics101Dataset> {
    const o: Required<Omit<Phys101Options, 'indexCache'>> = {
      root: opts.root,
      imageSize: opts.imageSize ?? 128,
      seqLength: opts.seqLength ?? 22,
      frameStep: opts.frameStep ?? 2,
      settings: opts.settings ?? ['20_01', '20_02'],
      flip: opts.flip ?? 'none',
      seed: opts.seed ?? 1,
      prefetch: opts.prefetch ?? 4,
      skipBad: opts.skipBad ?? false,
      ffmpeg: opts.ffmpeg ?? 'ffmpeg',
      ffprobe: opts.ffprobe ?? 'ffprobe',
    };
    for (const [k, v] of [['imageSize', o.imageSize], ['seqLength', o.seqLength], ['frameStep', o.frameStep]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Physics 101: ${k} must be a positive integer, got ${v}`);
    }
    await checkFfmpeg(o.ffmpeg, o.ffprobe);
    const ramp = findRampDir(o.root);
    const found = listRampClips(ramp, o.settings);
    if (found.bad.length > 0 && !o.skipBad) throw new DataFileError(found.bad[0]!.file, undefined, `${found.bad[0]!.reason} (pass skipBad to skip such clips)`);
    const cache = readCache(opts.indexCache);
    const skipped = [...found.bad];
    const infos: ClipInfo[] = [];
    const probe = async (c: { file: string; rel: string }) => {
      const st = statSync(c.file);
      const key = `${c.rel}|${st.size}|${Math.floor(st.mtimeMs)}`;
      if (cache[key] !== undefined) return { ...c, frames: cache[key]! };
      const memoKey = `${c.file}|${st.size}|${Math.floor(st.mtimeMs)}`;
      const frames = probed.get(memoKey) ?? (await probeFrameCount(c.file, o.ffprobe));
      probed.set(memoKey, frames);
      cache[key] = frames;
      return { ...c, frames };
    };
    // Probe two at a time: enough to hide process start-up, light on shared cores.
    const results = prefetchMap(found.clips, async (c) => probe(c).then((info) => ({ info }), (e: Error) => ({ error: e, c })), 2);
    for await (const r of results) {
      if ('info' in r) infos.push(r.info);
      else if (o.skipBad) skipped.push({ file: r.c.file, reason: r.error.message });
      else throw r.error;
    }
    if (opts.indexCache) atomicWriteFile(opts.indexCache, JSON.stringify(cache));
    const need = o.seqLength * o.frameStep;
    const ok = infos.filter((c) => Math.ceil(c.frames / o.frameStep) >= o.seqLength);
    const tooShort = infos.filter((c) => Math.ceil(c.frames / o.frameStep) < o.seqLength);
    if (infos.length === 0 && skipped.length === 0) {
      throw new Error(`Physics 101: no clip of the settings ${o.settings.join(', ')} under ${ramp}; expected ${ramp}/${LAYOUT.replace('scenarios/ramp/', '')}`);
    }
    if (ok.length === 0) throw new Error(`Physics 101: no clip under ${ramp} has ≥ ${need - o.frameStep + 1} frames (${infos.length} found, ${skipped.length} skipped)`);
    return new Physics101Dataset(o, phys101Split(ok, o.seed), tooShort, skipped);
  }

  size(split: Split): number {
    return this.split[split].length;
  }

  /** The clips of a split, in index order. */
  clips(split: Split): readonly ClipInfo[] {
    return this.split[split];
  }

  /** Whether clip i of a split is flipped in the epoch drawn with this batch seed. */
  flipped(split: Split, i: number, epochSeed = 0): boolean {
    if (this.o.flip === 'none' || (this.o.flip === 'train' && split !== 'train')) return false;
    return new Rng(deriveSeed(this.o.seed ^ epochSeed, `phys101/flip/${this.split[split][i]!.rel}`)).next() < 0.5;
  }

  /** Clip i of the split as [seqLength, S, S, 3] floats (it is the i-th clip: no hidden counter). */
  loadClip(split: Split, i: number, epochSeed = 0): Promise<Float32Array> {
    const c = this.split[split][i];
    if (!c) throw new Error(`Physics 101: ${split} has ${this.size(split)} clips, no index ${i}`);
    return decodeClip(c.file, { imageSize: this.o.imageSize, seqLength: this.o.seqLength, frameStep: this.o.frameStep, flip: this.flipped(split, i, epochSeed), ffmpeg: this.o.ffmpeg });
  }

  /**
   * Streams batches, decoding up to `prefetch` clips ahead. With skipBad a clip that
   * fails to decode is recorded in `skipped` and the batch is filled from the next ones.
   */
  async *batches(split: Split, opts: BatchOptions): AsyncIterable<Batch> {
    const n = this.size(split);
    const order = opts.shuffle ? new Rng(opts.seed ?? 0).permutation(n) : Array.from({ length: n }, (_, i) => i);
    const per = this.seqLength * this.o.imageSize * this.o.imageSize * 3;
    const decoded = prefetchMap(order, (i) => this.loadClip(split, i, opts.seed ?? 0).then((data) => ({ data }), (error: Error) => ({ error, i })), this.o.prefetch);
    let pending: Float32Array[] = [];
    const emit = (): Batch => {
      const obs = new Float32Array(pending.length * per);
      pending.forEach((d, b) => obs.set(d, b * per));
      const batch = { obs: tf.tensor(obs, [pending.length, this.seqLength, ...this.obsShape]) };
      pending = [];
      return batch;
    };
    let emitted = 0;
    for await (const r of decoded) {
      if ('error' in r) {
        if (!this.o.skipBad) throw r.error;
        this.skipped.push({ file: this.split[split][r.i]!.file, reason: r.error.message });
        continue;
      }
      pending.push(r.data);
      if (pending.length === opts.batchSize) {
        emitted++;
        yield emit();
      }
    }
    if (pending.length > 0 && !(opts.dropLast && emitted > 0)) yield emit();
  }

  /** One line for logs: how many clips each split has and what was left out. */
  summary(): string {
    return `Physics 101 ramp: ${this.size('train')} train, ${this.size('test')} test clips; ${this.tooShort.length} too short, ${this.skipped.length} skipped`;
  }
}

function readCache(path: string | undefined): Record<string, number> {
  if (!path || !existsSync(path)) return {};
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (j && typeof j === 'object' && Object.values(j).every((v) => typeof v === 'number')) return j as Record<string, number>;
  } catch {
    // A damaged cache is rebuilt, never trusted.
  }
  return {};
}

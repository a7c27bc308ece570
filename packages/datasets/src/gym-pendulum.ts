// Gym's classic-control Pendulum seen from pixels (the Noether paper's controlled
// pendulum): Gym's exact update rule, a scripted energy-pumping swing-up policy,
// Gym's view (rod capsule over [−2.2, 2.2]², black axle) rendered anti-aliased.
// θ = 0 is upright; positive θ turns the rod anticlockwise (to the left).
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng, batchGroups, deriveSeed, interrupted, tf, type Batch, type BatchOptions, type Dataset, type Split } from '@noether/core';
import { DataFileError, readDataText } from './errors.js';
import { atomicWriteFile } from './fs-util.js';
import { prefetchMap } from './prefetch.js';
import { writeFramesPng } from './preview.js';

export const GYM_PENDULUM = { g: 10, m: 1, l: 1, dt: 0.05, maxSpeed: 8, maxTorque: 2 } as const;
export type PendulumPhysics = { g: number; m: number; l: number; dt: number; maxSpeed: number; maxTorque: number };

const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** One step of gym's Pendulum-v1: returns [θ', θ̇'] (θ is not wrapped, as in Gym). */
export function pendulumStep(th: number, thdot: number, u: number, p: PendulumPhysics = GYM_PENDULUM): [number, number] {
  const torque = clip(u, -p.maxTorque, p.maxTorque);
  let newthdot = thdot + ((3 * p.g) / (2 * p.l) * Math.sin(th) + (3 / (p.m * p.l * p.l)) * torque) * p.dt;
  newthdot = clip(newthdot, -p.maxSpeed, p.maxSpeed);
  return [th + newthdot * p.dt, newthdot];
}

/** θ wrapped into [−π, π). */
export const wrapAngle = (th: number) => ((((th + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;

/**
 * Energy relative to resting upright, per unit of m·l²/3: E = ½θ̇² + (3g/2l)(cos θ − 1).
 * Under the Gym dynamics dE/dt = (3/(m l²))·u·θ̇, which is what the pumping uses.
 */
export const pendulumEnergy = (th: number, thdot: number, p: PendulumPhysics = GYM_PENDULUM) => 0.5 * thdot * thdot + ((3 * p.g) / (2 * p.l)) * (Math.cos(th) - 1);

/**
 * Scripted swing-up: near the top a PD controller balances; elsewhere the torque
 * pumps energy towards the upright level (u ∝ −E·θ̇), saturating at ±maxTorque.
 */
export function swingUpPolicy(th: number, thdot: number, p: PendulumPhysics = GYM_PENDULUM): number {
  const a = wrapAngle(th);
  const E = pendulumEnergy(th, thdot, p);
  if (Math.abs(a) < 0.6 && Math.abs(thdot) < 4) return clip(-(10 * a + 3 * thdot), -p.maxTorque, p.maxTorque);
  // Kick a pendulum that rests exactly at the bottom, where u·θ̇ cannot add energy.
  if (Math.abs(thdot) < 1e-3) return p.maxTorque;
  return clip(-2 * E * thdot, -p.maxTorque, p.maxTorque);
}

export interface RenderOptions {
  /** Image side in pixels (64). */
  size?: number;
  /** Supersampling factor per axis for anti-aliasing (4 → 16 samples a pixel). */
  supersample?: number;
  /** Half-width of the square of the world drawn (Gym's: 2.2). A smaller view puts more pixels on
   * the rod: at 1.2 a 32×32 frame draws it about as large as Gym's view does at 64×64. */
  view?: number;
}

/** Gym's view: the square [−2.2, 2.2]². */
export const GYM_VIEW = 2.2;
const ROD_RADIUS = 0.1; // width 0.2
/** How far the rod reaches from the pivot (length + half its width): a view must be wider. */
export const GYM_ROD_REACH = GYM_PENDULUM.l + ROD_RADIUS;
const AXLE_RADIUS = 0.05;
const ROD_COLOUR = [0.8, 0.3, 0.3] as const;

/** Gym's Pendulum view at angle θ: size × size × 3 RGB in [0, 1], row 0 at the top. */
export function renderPendulum(th: number, opts: RenderOptions = {}): Float32Array {
  const size = opts.size ?? 64;
  const ss = opts.supersample ?? 4;
  const BOUND = opts.view ?? GYM_VIEW;
  if (!(BOUND > GYM_ROD_REACH)) throw new Error(`renderPendulum: view must exceed the rod's reach ${GYM_ROD_REACH}, got ${BOUND}`);
  const out = new Float32Array(size * size * 3);
  const ex = -Math.sin(th) * GYM_PENDULUM.l; // rod end: angle θ + π/2 from the +x axis
  const ey = Math.cos(th) * GYM_PENDULUM.l;
  const len2 = ex * ex + ey * ey;
  const cell = (2 * BOUND) / size;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let si = 0; si < ss; si++) {
        const y = BOUND - (i + (si + 0.5) / ss) * cell;
        for (let sj = 0; sj < ss; sj++) {
          const x = -BOUND + (j + (sj + 0.5) / ss) * cell;
          if (x * x + y * y <= AXLE_RADIUS * AXLE_RADIUS) continue; // black axle on top
          const s = clip((x * ex + y * ey) / len2, 0, 1);
          const dx = x - s * ex;
          const dy = y - s * ey;
          if (dx * dx + dy * dy <= ROD_RADIUS * ROD_RADIUS) {
            r += ROD_COLOUR[0];
            g += ROD_COLOUR[1];
            b += ROD_COLOUR[2];
          } else {
            r += 1;
            g += 1;
            b += 1;
          }
        }
      }
      const o = 3 * (i * size + j);
      const n = ss * ss;
      out[o] = r / n;
      out[o + 1] = g / n;
      out[o + 2] = b / n;
    }
  }
  return out;
}

export interface PendulumEpisode {
  /** T × size × size × 3 bytes (value / 255 is the colour). */
  frames: Uint8Array;
  /** T torques; actions[t] drives the step that produces frame t (actions[0] = 0). */
  actions: Float32Array;
  theta: Float32Array;
  thetaDot: Float32Array;
}

export interface EpisodeOptions extends RenderOptions {
  /** Frames per episode, including the reset frame (200). */
  frames?: number;
  /** Std of Gaussian noise added to the scripted torque before clipping (0). */
  actionNoise?: number;
}

/** One episode: reset θ ~ U[−π, π], θ̇ ~ U[−1, 1], then the scripted policy. */
export function simulateEpisode(rng: Rng, opts: EpisodeOptions = {}): PendulumEpisode {
  const T = opts.frames ?? 200;
  const size = opts.size ?? 64;
  const frames = new Uint8Array(T * size * size * 3);
  const actions = new Float32Array(T);
  const theta = new Float32Array(T);
  const thetaDot = new Float32Array(T);
  let th = rng.uniform(-Math.PI, Math.PI);
  let thdot = rng.uniform(-1, 1);
  for (let t = 0; t < T; t++) {
    if (t > 0) {
      const u = clip(swingUpPolicy(th, thdot) + (opts.actionNoise ? opts.actionNoise * rng.normal() : 0), -GYM_PENDULUM.maxTorque, GYM_PENDULUM.maxTorque);
      [th, thdot] = pendulumStep(th, thdot, u);
      actions[t] = u;
    }
    theta[t] = th;
    thetaDot[t] = thdot;
    const img = renderPendulum(th, opts);
    for (let k = 0; k < img.length; k++) frames[t * img.length + k] = Math.round(img[k]! * 255);
  }
  return { frames, actions, theta, thetaDot };
}

// ---- on-disk format -------------------------------------------------------

export const GYM_MANIFEST_FORMAT = 'noether/gym-pendulum';

// Strict: a misspelt key (say 'veiw') would otherwise be dropped and its default used without a word.
const episodeEntry = z.strictObject({
  index: z.number().int().nonnegative(),
  frames: z.string().min(1),
  meta: z.string().min(1),
  length: z.number().int().positive(),
});

export const gymManifestSchema = z.strictObject({
  format: z.literal(GYM_MANIFEST_FORMAT),
  version: z.literal(1),
  seed: z.number(),
  size: z.number().int().positive(),
  channels: z.literal(3),
  framesPerEpisode: z.number().int().positive(),
  trainEpisodes: z.number().int().nonnegative(),
  physics: z.strictObject({ g: z.number(), m: z.number(), l: z.number(), dt: z.number(), maxSpeed: z.number(), maxTorque: z.number() }),
  policy: z.string(),
  actionNoise: z.number(),
  /** Half-width of the square drawn (Gym's 2.2; manifests written before the option existed lack it). */
  view: z.number().positive().default(GYM_VIEW),
  /** frames: uint8 T×H×W×3; meta: float32 little-endian T×3 (action, θ, θ̇). */
  episodes: z.array(episodeEntry).min(1),
});
export type GymManifest = z.infer<typeof gymManifestSchema>;

export interface GenerateGymOptions extends EpisodeOptions {
  episodes: number;
  seed: number;
  /** Output directory (created). */
  out: string;
  /** How many leading episodes form the train split (the paper: 5). */
  trainEpisodes?: number;
  /** Called after each episode is written. */
  onProgress?: (done: number, total: number) => void;
  /** Stops between episodes when aborted (Ctrl-C), rejecting with GenerationInterrupted; the files
   * written so far stay (no manifest yet): the caller removes them. */
  signal?: AbortSignal;
}

/** A generation (generateGymPendulum before its manifest, generateHamiltonianInterruptibly) was stopped by its signal. */
export class GenerationInterrupted extends Error {
  constructor() {
    super('generation interrupted');
    this.name = 'GenerationInterrupted';
  }
}

const pad4 = (i: number) => String(i).padStart(4, '0');

/** The train split when none is given: the paper's 5 leading episodes, but at most episodes − 1, so
 * that an experiment on a small set still has an episode to test on (a single episode is all test). */
export function defaultTrainEpisodes(episodes: number): number {
  return Math.max(0, Math.min(5, episodes - 1));
}

/** Generates episodes into `out`: per-episode frames and meta files, preview.png, and manifest.json
 * (written last). Yields to the event loop after each episode, so an abort (a signal handler) can run. */
export async function generateGymPendulum(opts: GenerateGymOptions): Promise<GymManifest> {
  if (!Number.isInteger(opts.episodes) || opts.episodes < 1) throw new Error(`episodes must be a positive integer, got ${opts.episodes}`);
  const trainEpisodes = opts.trainEpisodes ?? defaultTrainEpisodes(opts.episodes);
  if (trainEpisodes > opts.episodes) throw new Error(`trainEpisodes (${trainEpisodes}) exceeds episodes (${opts.episodes})`);
  const size = opts.size ?? 64;
  const T = opts.frames ?? 200;
  const entries: GymManifest['episodes'] = [];
  for (let e = 0; e < opts.episodes; e++) {
    const ep = simulateEpisode(new Rng(deriveSeed(opts.seed, `gym-pendulum/episode/${e}`)), opts);
    const meta = new Float32Array(T * 3);
    for (let t = 0; t < T; t++) meta.set([ep.actions[t]!, ep.theta[t]!, ep.thetaDot[t]!], 3 * t);
    const framesFile = `episode_${pad4(e)}.frames.u8`;
    const metaFile = `episode_${pad4(e)}.meta.f32`;
    atomicWriteFile(join(opts.out, framesFile), ep.frames);
    atomicWriteFile(join(opts.out, metaFile), toLittleEndian(meta));
    entries.push({ index: e, frames: framesFile, meta: metaFile, length: T });
    if (e === 0) {
      const step = Math.max(1, Math.floor(T / 20));
      const picks = Array.from({ length: Math.ceil(T / step) }, (_, i) => i * step);
      const frameBytes = size * size * 3;
      const rows = [0, 1].map((r) => picks.slice(r * 10, r * 10 + 10).map((t) => Float32Array.from(ep.frames.subarray(t * frameBytes, (t + 1) * frameBytes), (v) => v / 255)));
      writeFramesPng(join(opts.out, 'preview.png'), rows.filter((r) => r.length > 0), { height: size, width: size, channels: 3 });
    }
    opts.onProgress?.(e + 1, opts.episodes);
    if (await interrupted(opts.signal)) throw new GenerationInterrupted();
  }
  const manifest: GymManifest = {
    format: GYM_MANIFEST_FORMAT,
    version: 1,
    seed: opts.seed,
    size,
    channels: 3,
    framesPerEpisode: T,
    trainEpisodes,
    physics: { ...GYM_PENDULUM },
    policy: 'energy-pumping swing-up + PD balance (swingUpPolicy)',
    actionNoise: opts.actionNoise ?? 0,
    view: opts.view ?? GYM_VIEW,
    episodes: entries,
  };
  atomicWriteFile(join(opts.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function toLittleEndian(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  a.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return out;
}

/** Reads and validates `<dir>/manifest.json`; every error names the file and the fix. */
export function readGymManifest(dir: string): GymManifest {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new DataFileError(file, undefined, `not found; generate the data set first (noether generate gym-pendulum --out DIR, or generateGymPendulum)`);
  const text = readDataText(file, 'gym-pendulum manifest');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataFileError(file, undefined, `not valid JSON (${(e as Error).message}); regenerate the data set`);
  }
  const r = gymManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new DataFileError(file, undefined, `invalid gym-pendulum manifest (${issues}); regenerate the data set`);
  }
  const seen = new Set<number>();
  for (const ep of r.data.episodes) {
    // Messages name episodes by index, and every episode was written with framesPerEpisode frames.
    if (seen.has(ep.index)) throw new DataFileError(file, undefined, `two episodes have index ${ep.index}; each index names one episode, regenerate the data set`);
    seen.add(ep.index);
    if (ep.length !== r.data.framesPerEpisode) {
      throw new DataFileError(file, undefined, `episode ${ep.index} has length ${ep.length} but framesPerEpisode is ${r.data.framesPerEpisode}; regenerate the data set`);
    }
    for (const [f, bytes] of [[ep.frames, ep.length * r.data.size * r.data.size * 3], [ep.meta, ep.length * 12]] as const) {
      const p = join(dir, f);
      if (!existsSync(p)) throw new DataFileError(file, undefined, `episode ${ep.index} names ${f}, which is missing; regenerate the data set`);
      const st = statSync(p);
      if (!st.isFile()) throw new DataFileError(p, undefined, `episode ${ep.index}'s data must be a file, this is a folder; regenerate the data set`);
      const size = st.size;
      if (size !== bytes) throw new DataFileError(p, undefined, `${size} bytes, expected ${bytes} for episode ${ep.index} (length ${ep.length}); regenerate the data set`);
    }
  }
  return r.data;
}

// ---- windows as a Dataset --------------------------------------------------

/** Where episodes come from: memory (freshly simulated) or disk (a generated directory). */
export interface EpisodeSource {
  readonly size: number;
  readonly episodes: number;
  readonly lengths: readonly number[];
  /** Frames [start, start + len) as bytes, and their actions. */
  read(episode: number, start: number, len: number): Promise<{ frames: Uint8Array; actions: Float32Array }>;
  close?(): Promise<void>;
}

export function memoryEpisodeSource(episodes: PendulumEpisode[], size: number): EpisodeSource {
  const fb = size * size * 3;
  return {
    size,
    episodes: episodes.length,
    lengths: episodes.map((e) => e.actions.length),
    async read(e, start, len) {
      const ep = episodes[e]!;
      return { frames: ep.frames.subarray(start * fb, (start + len) * fb), actions: ep.actions.subarray(start, start + len) };
    },
  };
}

/** Reads windows straight from the episode files (no episode is held in memory). */
export function fileEpisodeSource(dir: string, manifest: GymManifest): EpisodeSource {
  const fb = manifest.size * manifest.size * 3;
  return {
    size: manifest.size,
    episodes: manifest.episodes.length,
    lengths: manifest.episodes.map((e) => e.length),
    async read(e, start, len) {
      const entry = manifest.episodes[e]!;
      const frames = new Uint8Array(len * fb);
      const meta = new Uint8Array(len * 12);
      for (const [name, buf, pos] of [[entry.frames, frames, start * fb], [entry.meta, meta, start * 12]] as const) {
        const fh = await open(join(dir, name), 'r');
        try {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead !== buf.length) throw new DataFileError(join(dir, name), undefined, `short read (${bytesRead} of ${buf.length} bytes at ${pos}); the file is truncated, regenerate the data set`);
        } finally {
          await fh.close();
        }
      }
      const v = new DataView(meta.buffer);
      const actions = Float32Array.from({ length: len }, (_, t) => v.getFloat32(12 * t, true));
      // A damaged meta file would otherwise feed NaN torques into training without a word.
      const bad = actions.findIndex((a) => !Number.isFinite(a));
      if (bad >= 0) throw new DataFileError(join(dir, entry.meta), undefined, `the action of frame ${start + bad} is ${actions[bad]}; the file is damaged, regenerate the data set`);
      return { frames, actions };
    },
  };
}

export interface GymWindowOptions {
  /** Context frames (4) and predicted frames (26): sequences are history + future long. */
  history?: number;
  future?: number;
  /** Start offset between windows of an episode (default history + future: no overlap). */
  stride?: number;
  /** Stride for the test split (default: stride). */
  testStride?: number;
  /** Leading episodes used for training (default: the manifest's, or 5). */
  trainEpisodes?: number;
  /** Also train on every window mirrored left–right with its actions negated (default false). The
   * view is symmetric about the pivot and the dynamics under θ → −θ, u → −u, so a mirrored window
   * is another valid trajectory: twice the training windows. The test split is never mirrored. */
  mirror?: boolean;
  /** Windows decoded ahead of the consumer (default 2 batches). */
  prefetch?: number;
}

/**
 * Windows of history + future frames with their actions: obs [B, T, H, W, 3] in
 * [0, 1], actions [B, T, 1] (actions[:, t] drives the step producing obs[:, t]).
 */
export class GymPendulumDataset implements Dataset {
  readonly name = 'gym-pendulum';
  readonly obsShape: readonly number[];
  readonly actionDim = 1;
  readonly seqLength: number;
  readonly history: number;
  /** (episode, start frame, mirrored) of every window. */
  private readonly windows: Record<Split, [number, number, boolean][]>;
  private readonly prefetch: number;

  constructor(
    private readonly source: EpisodeSource,
    opts: GymWindowOptions & { trainEpisodes: number },
  ) {
    this.history = opts.history ?? 4;
    this.seqLength = this.history + (opts.future ?? 26);
    this.obsShape = [source.size, source.size, 3];
    const stride = opts.stride ?? this.seqLength;
    const testStride = opts.testStride ?? stride;
    if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(testStride) || testStride < 1) {
      throw new Error(`gym-pendulum: stride and testStride must be positive integers, got ${stride} and ${testStride}`);
    }
    if (opts.trainEpisodes < 0 || opts.trainEpisodes > source.episodes) {
      throw new Error(`gym-pendulum: trainEpisodes ${opts.trainEpisodes} is outside [0, ${source.episodes}] (episodes available)`);
    }
    const make = (from: number, to: number, s: number, mirror: boolean) => {
      const out: [number, number, boolean][] = [];
      for (let e = from; e < to; e++) for (let st = 0; st + this.seqLength <= source.lengths[e]!; st += s) out.push([e, st, false]);
      return mirror ? [...out, ...out.map(([e, st]): [number, number, boolean] => [e, st, true])] : out;
    };
    this.windows = {
      train: make(0, opts.trainEpisodes, stride, opts.mirror ?? false),
      test: make(opts.trainEpisodes, source.episodes, testStride, false),
    };
    if (Math.min(...source.lengths) < this.seqLength) {
      throw new Error(`gym-pendulum: episodes of ${Math.min(...source.lengths)} frames are shorter than a window (${this.seqLength} = history + future)`);
    }
    this.prefetch = opts.prefetch ?? 2;
  }

  size(split: Split): number {
    return this.windows[split].length;
  }

  /** (episode, start frame, mirrored) of every window of a split. */
  windowList(split: Split): readonly [number, number, boolean][] {
    return this.windows[split];
  }

  async *batches(split: Split, o: BatchOptions): AsyncIterable<Batch> {
    const list = this.windows[split];
    const groups = batchGroups(list.length, o);
    const T = this.seqLength;
    const per = T * this.source.size * this.source.size * 3;
    const load = async (idx: number[]) => {
      const obs = new Float32Array(idx.length * per);
      const actions = new Float32Array(idx.length * T);
      for (let b = 0; b < idx.length; b++) {
        const [e, st, mirrored] = list[idx[b]!]!;
        const w = await this.source.read(e, st, T);
        if (!mirrored) {
          for (let k = 0; k < per; k++) obs[b * per + k] = w.frames[k]! / 255;
          actions.set(w.actions, b * T);
          continue;
        }
        const S = this.source.size;
        for (let row = 0; row < T * S; row++) {
          for (let j = 0; j < S; j++) {
            const from = 3 * (row * S + j);
            const to = b * per + 3 * (row * S + S - 1 - j);
            for (let ch = 0; ch < 3; ch++) obs[to + ch] = w.frames[from + ch]! / 255;
          }
        }
        for (let t = 0; t < T; t++) actions[b * T + t] = -w.actions[t]!;
      }
      return { obs, actions, n: idx.length };
    };
    for await (const r of prefetchMap(groups, load, this.prefetch)) {
      yield { obs: tf.tensor(r.obs, [r.n, T, ...this.obsShape]), actions: tf.tensor(r.actions, [r.n, T, 1]) };
    }
  }
}

/** Opens a directory written by generateGymPendulum as a Dataset (reads windows from disk on demand). */
export function openGymPendulum(dir: string, opts: GymWindowOptions = {}): GymPendulumDataset {
  const manifest = readGymManifest(dir);
  return new GymPendulumDataset(fileEpisodeSource(dir, manifest), { ...opts, trainEpisodes: opts.trainEpisodes ?? manifest.trainEpisodes });
}

/** Simulates episodes in memory (no files) — handy for tests and small runs. */
export function gymPendulumDataset(opts: EpisodeOptions & GymWindowOptions & { episodes: number; seed: number }): GymPendulumDataset {
  const eps = Array.from({ length: opts.episodes }, (_, e) => simulateEpisode(new Rng(deriveSeed(opts.seed, `gym-pendulum/episode/${e}`)), opts));
  return new GymPendulumDataset(memoryEpisodeSource(eps, opts.size ?? 64), { ...opts, trainEpisodes: opts.trainEpisodes ?? defaultTrainEpisodes(opts.episodes) });
}

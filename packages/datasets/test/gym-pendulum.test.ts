import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tf } from '@noether/core';
import {
  GYM_PENDULUM, GenerationInterrupted, gymPendulumDataset, generateGymPendulum, openGymPendulum, pendulumStep, readGymManifest, renderPendulum,
  simulateEpisode, swingUpPolicy, wrapAngle, writeBatchPng,
} from '../src/index.js';

describe('gym Pendulum physics', () => {
  it('follows the update rule step by step (hand-computed values)', () => {
    // newthdot = 1 + (15 sin 0.5 + 3·1.5)·0.05 = 1 + (7.1913831 + 4.5)·0.05
    const [th, thd] = pendulumStep(0.5, 1, 1.5);
    expect(thd).toBeCloseTo(1.5845691540, 9);
    expect(th).toBeCloseTo(0.5 + 1.5845691540 * 0.05, 9);
    // Torque clipped to 2, speed to 8: 7.9 + (15 + 6)·0.05 = 8.95 → 8.
    const [th2, thd2] = pendulumStep(Math.PI / 2, 7.9, 5);
    expect(thd2).toBe(8);
    expect(th2).toBeCloseTo(Math.PI / 2 + 0.4, 12);
    // Hanging down at rest with no torque stays put; upright is an (unstable) equilibrium.
    expect(pendulumStep(Math.PI, 0, 0)[1]).toBeCloseTo(0, 12);
    expect(pendulumStep(0.01, 0, 0)[1]).toBeGreaterThan(0); // falls away from upright
    expect(GYM_PENDULUM).toEqual({ g: 10, m: 1, l: 1, dt: 0.05, maxSpeed: 8, maxTorque: 2 });
  });

  it('the scripted policy swings up and balances, with torques inside ±2', () => {
    for (let e = 0; e < 20; e++) {
      const ep = simulateEpisode(new Rng(100 + e), { size: 8, supersample: 1 });
      expect(ep.actions[0]).toBe(0);
      expect(Math.max(...Array.from(ep.actions, Math.abs))).toBeLessThanOrEqual(2);
      for (let t = 160; t < 200; t++) expect(Math.abs(wrapAngle(ep.theta[t]!))).toBeLessThan(0.2);
    }
    expect(swingUpPolicy(0.1, 0)).toBeLessThan(0); // pushes back towards upright
  });
});

describe('gym Pendulum rendering', () => {
  const S = 64;
  const rgb = (img: Float32Array, row: number, col: number) => Array.from(img.subarray(3 * (row * S + col), 3 * (row * S + col) + 3));
  const isRod = (c: number[]) => Math.abs(c[0]! - 0.8) < 0.02 && Math.abs(c[1]! - 0.3) < 0.02 && Math.abs(c[2]! - 0.3) < 0.02;
  const isWhite = (c: number[]) => c.every((v) => v === 1);

  it('θ = 0 is upright: rod pixels above the pivot, white below', () => {
    const img = renderPendulum(0);
    // The pivot is at the image centre; the rod end at y = 1 maps to row (2.2 − 1)/4.4·64 ≈ 17.5.
    for (let row = 19; row <= 29; row++) expect(isRod(rgb(img, row, 31)) && isRod(rgb(img, row, 32))).toBe(true);
    for (let row = 36; row < S; row++) expect(isWhite(rgb(img, row, 31))).toBe(true);
    for (let row = 0; row <= 15; row++) expect(isWhite(rgb(img, row, 32))).toBe(true);
    expect(Math.max(...rgb(img, 31, 31))).toBeLessThan(0.6); // the black axle darkens the centre
  });

  it('θ = π/2 points left, θ = π points down', () => {
    const left = renderPendulum(Math.PI / 2);
    expect(isRod(rgb(left, 31, 22))).toBe(true);
    expect(isWhite(rgb(left, 31, 42))).toBe(true);
    const down = renderPendulum(Math.PI);
    expect(isRod(rgb(down, 42, 32))).toBe(true);
    expect(isWhite(rgb(down, 22, 32))).toBe(true);
  });

  it('is anti-aliased: edge pixels blend rod and background', () => {
    const img = renderPendulum(0.3);
    let blended = 0;
    for (let i = 0; i < S * S; i++) {
      const g = img[3 * i + 1]!;
      if (g > 0.31 && g < 0.99) blended++;
    }
    expect(blended).toBeGreaterThan(10);
    const hard = renderPendulum(0.3, { supersample: 1 });
    expect(Array.from(hard).filter((v, i) => i % 3 === 1 && v > 0.31 && v < 0.99).length).toBe(0);
  });
});

describe('gym Pendulum view', () => {
  const rodPixels = (img: Float32Array) => {
    let n = 0;
    for (let i = 0; i < img.length / 3; i++) if (img[3 * i + 1]! < 0.5) n++; // rod (g 0.3) or axle
    return n;
  };

  it('a smaller view draws the same scene larger, by the square of the zoom', () => {
    const gym = renderPendulum(0.7, { size: 64 });
    expect(Array.from(renderPendulum(0.7, { size: 64, view: 2.2 }))).toEqual(Array.from(gym)); // 2.2 is Gym's default
    const zoom = renderPendulum(0.7, { size: 64, view: 1.2 });
    const ratio = rodPixels(zoom) / rodPixels(gym);
    expect(ratio).toBeGreaterThan(0.8 * (2.2 / 1.2) ** 2);
    expect(ratio).toBeLessThan(1.2 * (2.2 / 1.2) ** 2);
    // Upright at view 1.2: the rod end (y = 1) maps to row (1.2 − 1)/2.4·64 ≈ 5.3, the rest stays white.
    const up = renderPendulum(0, { size: 64, view: 1.2 });
    expect(up[3 * (8 * 64 + 32) + 1]).toBeCloseTo(0.3, 2);
    expect(up[3 * (1 * 64 + 32) + 1]).toBe(1); // rows 0–1 lie above the rod cap (y > 1.1)
  });

  it('rejects a view that would crop the rod, and the manifest records the view', async () => {
    expect(() => renderPendulum(0, { view: 1.05 })).toThrow(/view must exceed the rod's reach 1.1/);
    const dir = mkdtempSync(join(tmpdir(), 'gym-view-'));
    try {
      expect((await generateGymPendulum({ episodes: 1, frames: 3, size: 8, supersample: 1, seed: 1, view: 1.5, out: dir })).view).toBe(1.5);
      expect(readGymManifest(dir).view).toBe(1.5);
      // Manifests written before the option existed read as Gym's view.
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      delete m.view;
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      expect(readGymManifest(dir).view).toBe(2.2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gym Pendulum data set', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gym-pend-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('episodes are deterministic per seed and frames are the rendered states', () => {
    const a = simulateEpisode(new Rng(7), { frames: 12, size: 16 });
    const b = simulateEpisode(new Rng(7), { frames: 12, size: 16 });
    const c = simulateEpisode(new Rng(8), { frames: 12, size: 16 });
    expect(Buffer.from(a.frames).equals(Buffer.from(b.frames))).toBe(true);
    expect(a.theta[0]).not.toBe(c.theta[0]);
    const f5 = renderPendulum(a.theta[5]!, { size: 16 });
    expect(Array.from(a.frames.subarray(5 * f5.length, 6 * f5.length))).toEqual(Array.from(f5, (v) => Math.round(v * 255)));
    expect(a.theta[0]!).toBeGreaterThanOrEqual(-Math.PI);
    expect(Math.abs(a.thetaDot[0]!)).toBeLessThanOrEqual(1);
    // Frame t follows from frame t−1 under action t.
    const [th, thd] = pendulumStep(a.theta[3]!, a.thetaDot[3]!, a.actions[4]!);
    expect(a.theta[4]).toBeCloseTo(th, 5);
    expect(a.thetaDot[4]).toBeCloseTo(thd, 5);
  });

  it('writes episodes + manifest, reads them back as the same windows as in memory, keeps numTensors flat', async () => {
    const opts = { episodes: 4, seed: 11, frames: 64, size: 16, trainEpisodes: 2 };
    const progress: number[] = [];
    await generateGymPendulum({ ...opts, out: dir, onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2, 3, 4]);
    // An abort (Ctrl-C) stops it between episodes, before the manifest.
    const stopped = mkdtempSync(join(tmpdir(), 'gym-stop-'));
    const ac = new AbortController();
    await expect(generateGymPendulum({ ...opts, out: stopped, signal: ac.signal, onProgress: (d) => d === 2 && ac.abort() })).rejects.toBeInstanceOf(GenerationInterrupted);
    expect(existsSync(join(stopped, 'episode_0001.frames.u8'))).toBe(true);
    expect(existsSync(join(stopped, 'episode_0002.frames.u8'))).toBe(false);
    expect(existsSync(join(stopped, 'manifest.json'))).toBe(false);
    rmSync(stopped, { recursive: true, force: true });
    expect(existsSync(join(dir, 'preview.png'))).toBe(true);
    expect(readFileSync(join(dir, 'preview.png')).subarray(1, 4).toString()).toBe('PNG');
    const m = readGymManifest(dir);
    expect(m.episodes.length).toBe(4);
    expect(m.trainEpisodes).toBe(2);

    const disk = openGymPendulum(dir, { stride: 10 });
    const mem = gymPendulumDataset({ ...opts, stride: 10 });
    expect(disk.seqLength).toBe(30);
    expect(disk.obsShape).toEqual([16, 16, 3]);
    expect(disk.size('train')).toBe(2 * 4); // starts 0, 10, 20, 30 in 64 frames
    expect(disk.size('test')).toBe(2 * 4);
    const before = tf.memory().numTensors;
    const itD = disk.batches('test', { batchSize: 3, shuffle: true, seed: 2 })[Symbol.asyncIterator]();
    let n = 0;
    for await (const bm of mem.batches('test', { batchSize: 3, shuffle: true, seed: 2 })) {
      const bd = (await itD.next()).value!;
      expect(bd.obs.shape).toEqual(bm.obs.shape);
      expect(bd.actions!.shape).toEqual([bm.obs.shape[0], 30, 1]);
      expect(Array.from(bd.obs.dataSync())).toEqual(Array.from(bm.obs.dataSync()));
      expect(Array.from(bd.actions!.dataSync())).toEqual(Array.from(bm.actions!.dataSync()));
      n += bd.obs.shape[0]!;
      tf.dispose([bd.obs, bd.actions!, bm.obs, bm.actions!]);
    }
    expect(n).toBe(8);
    expect(tf.memory().numTensors).toBe(before);

    // Window (episode 2, start 10): actions are that slice of the episode's actions.
    const w = disk.windowList('test')[1]!;
    expect(w).toEqual([2, 10, false]);
    const batch = (await disk.batches('test', { batchSize: 2 })[Symbol.asyncIterator]().next()).value!;
    const meta = readFileSync(join(dir, 'episode_0002.meta.f32'));
    expect(batch.actions!.dataSync()[30 + 5]).toBeCloseTo(meta.readFloatLE(12 * (10 + 5)), 6);
    const png = join(dir, 'batch.png');
    writeBatchPng(png, batch, { maxCols: 10 });
    expect(readFileSync(png).readUInt32BE(16)).toBe(2 + 10 * 18); // IHDR width: 10 frames of 16 + pad 2
    tf.dispose([batch.obs, batch.actions!]);
  });

  it('the default split is 5 train / rest test episodes and windows are 4 + 26 frames', () => {
    const ds = gymPendulumDataset({ episodes: 7, seed: 1, frames: 60, size: 8, supersample: 1 });
    expect(ds.size('train')).toBe(5 * 2);
    expect(ds.size('test')).toBe(2 * 2);
    expect(ds.history).toBe(4);
    expect(ds.seqLength).toBe(30);
    // A small set keeps an episode to test on (the default took all 3, leaving the test split empty).
    const small = gymPendulumDataset({ episodes: 3, seed: 1, frames: 30, size: 8, supersample: 1 });
    expect([small.size('train'), small.size('test')]).toEqual([2, 1]);
    // …and so does a single episode: it is all test.
    const one = gymPendulumDataset({ episodes: 1, seed: 1, frames: 30, size: 8, supersample: 1 });
    expect([one.size('train'), one.size('test')]).toEqual([0, 1]);
  });

  it('mirror: adds each training window flipped left-right with negated actions, a valid trajectory; test is untouched', async () => {
    const o = { episodes: 3, trainEpisodes: 1, seed: 4, frames: 20, size: 12, supersample: 2, history: 2, future: 3, stride: 5 };
    const plain = gymPendulumDataset(o);
    const mir = gymPendulumDataset({ ...o, mirror: true });
    expect(mir.size('train')).toBe(2 * plain.size('train'));
    expect(mir.size('test')).toBe(plain.size('test'));
    expect(mir.windowList('test')).toEqual(plain.windowList('test'));
    const n = plain.size('train');
    const before = tf.memory().numTensors;
    const all = (await mir.batches('train', { batchSize: 2 * n })[Symbol.asyncIterator]().next()).value!;
    const [orig, flipped] = tf.split(all.obs, 2, 0);
    const [aOrig, aFlipped] = tf.split(all.actions!, 2, 0);
    tf.tidy(() => {
      expect(Array.from(tf.reverse(orig!, 3).dataSync())).toEqual(Array.from(flipped!.dataSync()));
      expect(Array.from(tf.neg(aOrig!).dataSync())).toEqual(Array.from(aFlipped!.dataSync()));
    });
    expect(Array.from(aOrig!.dataSync()).some((a) => a !== 0)).toBe(true);
    tf.dispose([all.obs, all.actions!, orig!, flipped!, aOrig!, aFlipped!]);
    expect(tf.memory().numTensors).toBe(before);
    // Why it is valid: the view of −θ is the mirror image of θ's, and θ → −θ, u → −u maps a step of
    // the dynamics to a step of the dynamics.
    const S = 12;
    const img = renderPendulum(0.7, { size: S, supersample: 2 });
    const neg = renderPendulum(-0.7, { size: S, supersample: 2 });
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) for (let c = 0; c < 3; c++) expect(neg[3 * (i * S + S - 1 - j) + c]).toBeCloseTo(img[3 * (i * S + j) + c]!, 6);
    const [th, thd] = pendulumStep(0.7, -1.3, 0.9);
    const [thM, thdM] = pendulumStep(-0.7, 1.3, -0.9);
    expect(thM).toBeCloseTo(-th, 12);
    expect(thdM).toBeCloseTo(-thd, 12);
  });

  it('bad manifests and files fail with the file named', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'gym-bad-'));
    try {
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: not found; generate the data set first/);
      writeFileSync(join(bad, 'manifest.json'), '{ nope');
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: not valid JSON/);
      await generateGymPendulum({ episodes: 1, seed: 0, frames: 31, size: 8, supersample: 1, out: bad });
      const good = JSON.parse(readFileSync(join(bad, 'manifest.json'), 'utf8'));
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, size: -3, format: 'other' }));
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: invalid gym-pendulum manifest \(format: .*size: /);
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, episodes: [{ ...good.episodes[0], frames: 'gone.u8' }] }));
      expect(() => readGymManifest(bad)).toThrow(/episode 0 names gone\.u8, which is missing/);
      mkdirSync(join(bad, 'sub'));
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, episodes: [{ ...good.episodes[0], frames: 'sub' }] }));
      expect(() => readGymManifest(bad)).toThrow(/sub: episode 0's data must be a file, this is a folder/);
      // A misspelt key is named, not dropped for its default; the entries must agree with the header.
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, veiw: 1.5 }));
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: invalid gym-pendulum manifest \(\(root\): Unrecognized key: "veiw"\)/);
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, framesPerEpisode: 40 }));
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: episode 0 has length 31 but framesPerEpisode is 40/);
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...good, episodes: [good.episodes[0], good.episodes[0]] }));
      expect(() => readGymManifest(bad)).toThrow(/manifest\.json: two episodes have index 0/);
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify(good));
      // A damaged meta file: NaN torques are refused when read, naming the file and frame (the one
      // episode is the test split: the default split leaves an episode to test on).
      const metaFile = join(bad, good.episodes[0].meta);
      const meta = readFileSync(metaFile);
      meta.writeFloatLE(NaN, 12 * 3);
      writeFileSync(metaFile, meta);
      const damaged = openGymPendulum(bad, { history: 2, future: 2 });
      await expect((async () => { for await (const b of damaged.batches('test', { batchSize: 8 })) tf.dispose([b.obs, b.actions!]); })()).rejects.toThrow(/episode_0000\.meta\.f32: the action of frame 3 is NaN/);
      truncateSync(join(bad, good.episodes[0].frames), 100);
      expect(() => readGymManifest(bad)).toThrow(/episode_0000\.frames\.u8: 100 bytes, expected 5952/);
      expect(() => openGymPendulum(bad)).toThrow(/episode_0000\.frames\.u8/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

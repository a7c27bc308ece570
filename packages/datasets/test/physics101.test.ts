import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, type Split } from '@noether/core';
import { Physics101Dataset, decodeClip, phys101Split } from '../src/index.js';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
if (!hasFfmpeg) console.warn('Physics 101 tests skipped: ffmpeg/ffprobe not found (apt-get install ffmpeg)');

// Clips of 96×64: outside the centre 64×64 square is white; inside, the left half's
// luma encodes the frame number (20 + 2N) and the right half's the clip (140 + 20c).
function makeClip(file: string, c: number, frames: number): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const lum = `if(lt(X,16)+gte(X,80),255,if(lt(X,48),20+2*N,${140 + 20 * c}))`;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=96x64:r=30:d=4', '-frames:v', String(frames),
    '-vf', `geq=lum='${lum}':cb=128:cr=128`, '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', '-y', file]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${r.stderr}`);
}
const toRgb = (y: number) => ((y - 16) * 255) / 219 / 255; // limited-range luma → [0, 1]

const CLIPS: [string, number, number][] = [
  ['p_block_01/20_01/01', 0, 50],
  ['p_block_01/20_01/02', 1, 50],
  ['p_block_01/20_02/01', 2, 52],
  ['dough_02/20_01/03', 3, 50],
  ['dough_02/20_02/04', 4, 51],
  ['dough_02/20_02/05', 0, 30], // too short: 15 frames after every 2nd
];
const S = 16;

describe.skipIf(!hasFfmpeg)('Physics 101 ramp loader', () => {
  let root: string;
  const clipOf = new Map<string, number>();
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'phys101-'));
    for (const [rel, c, n] of CLIPS) {
      makeClip(join(root, 'scenarios/ramp', rel, 'Kinect_RGB_1.mp4'), c, n);
      clipOf.set(`${rel}/Kinect_RGB_1.mp4`, c);
    }
    // Another angle: not part of the 20° set, never indexed.
    mkdirSync(join(root, 'scenarios/ramp/dough_02/10_01/01'), { recursive: true });
    copyFileSync(join(root, 'scenarios/ramp', CLIPS[0]![0], 'Kinect_RGB_1.mp4'), join(root, 'scenarios/ramp/dough_02/10_01/01/Kinect_RGB_1.mp4'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const open = (extra = {}) => Physics101Dataset.open({ root, imageSize: S, ...extra });
  const mean = (clip: Float32Array, k: number, x0: number, x1: number) => {
    let s = 0;
    let n = 0;
    for (let y = 2; y < S - 2; y++) for (let x = x0; x < x1; x++) for (let ch = 0; ch < 3; ch++, n++) s += clip[((k * S + y) * S + x) * 3 + ch]!;
    return s / n;
  };

  it('indexes the 20° clips, drops short ones and splits 311:78-proportionally', async () => {
    const ds = await open();
    expect(ds.size('train')).toBe(4);
    expect(ds.size('test')).toBe(1);
    expect(ds.tooShort.map((c) => c.rel)).toEqual(['dough_02/20_02/05/Kinect_RGB_1.mp4']);
    expect([...ds.clips('train'), ...ds.clips('test')].every((c) => c.rel.includes('/20_0'))).toBe(true);
    expect(ds.obsShape).toEqual([S, S, 3]);
    expect(ds.seqLength).toBe(22);
    expect(ds.summary()).toBe('Physics 101 ramp: 4 train, 1 test clips; 1 too short, 0 skipped');
    const again = await open();
    expect(again.clips('train').map((c) => c.rel)).toEqual(ds.clips('train').map((c) => c.rel));
  });

  it('clip i is clip i: every 2nd frame, the middle 22, centre crop, resized', async () => {
    const ds = await open();
    for (const split of ['train', 'test'] as Split[]) {
      for (let i = 0; i < ds.size(split); i++) {
        const clip = await ds.loadClip(split, i);
        expect(clip.length).toBe(22 * S * S * 3);
        const c = clipOf.get(ds.clips(split)[i]!.rel)!;
        expect(mean(clip, 0, S / 2 + 2, S - 2)).toBeCloseTo(toRgb(140 + 20 * c), 1.5);
        const frames = ds.clips(split)[i]!.frames;
        const start = Math.floor((Math.ceil(frames / 2) - 22) / 2);
        for (const k of [0, 7, 21]) {
          const N = 2 * (start + k);
          expect(Math.abs(mean(clip, k, 2, S / 2 - 2) - toRgb(20 + 2 * N))).toBeLessThan(3 / 255);
        }
        expect(Math.max(...clip)).toBeLessThan(0.95); // the white side bands were cropped away
      }
    }
  });

  it('streams every clip once per epoch in batches with bounded prefetch and flat numTensors', async () => {
    const ds = await open({ prefetch: 2 });
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    for await (const b of ds.batches('train', { batchSize: 3, shuffle: true, seed: 9 })) {
      expect(b.obs.shape.slice(1)).toEqual([22, S, S, 3]);
      const v = b.obs.dataSync() as Float32Array;
      const per = 22 * S * S * 3;
      for (let j = 0; j < b.obs.shape[0]!; j++) seen.push(Math.round(((mean(v.subarray(j * per), 0, S / 2 + 2, S - 2) * 255 * 219) / 255 + 16 - 140) / 20));
      b.obs.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.length).toBe(4);
    expect([...seen].sort()).toEqual(ds.clips('train').map((c) => clipOf.get(c.rel)!).sort());
    let batches = 0;
    for await (const b of ds.batches('train', { batchSize: 3, dropLast: true })) {
      batches++;
      b.obs.dispose();
    }
    expect(batches).toBe(1);
  });

  it('flips whole clips with a seeded decision', async () => {
    const ds = await open({ flip: 'all' });
    const plain = await open();
    const decisions = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => ds.flipped('train', 0, s));
    expect(decisions).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((s) => ds.flipped('train', 0, s)));
    expect(new Set(decisions).size).toBe(2);
    const s = decisions.indexOf(true);
    const flippedClip = await ds.loadClip('train', 0, s);
    const c = clipOf.get(ds.clips('train')[0]!.rel)!;
    for (const k of [0, 21]) expect(mean(flippedClip, k, 2, S / 2 - 2)).toBeCloseTo(toRgb(140 + 20 * c), 1.5); // bright side now left
    expect(plain.flipped('train', 0, s)).toBe(false);
    const train = await open({ flip: 'train' });
    expect([0, 1, 2, 3, 4, 5].some((e) => train.flipped('test', 0, e))).toBe(false);
  });

  it('reports missing, corrupt, misplaced and short clips by file, or skips them with skipBad', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'phys101-bad-'));
    try {
      const ramp = join(bad, 'scenarios/ramp');
      await expect(Physics101Dataset.open({ root: bad })).rejects.toThrow(/no ramp folder under .*scenarios\/ramp\/<object>_<NN>\/20_0\{1,2\}\/<trial>\/Kinect_RGB_1\.mp4/);
      // Only other angles: says which settings it looked for and the layout, not "no clip has ≥ 43 frames".
      mkdirSync(join(ramp, 'w_block_01/10_01/01'), { recursive: true });
      copyFileSync(join(root, 'scenarios/ramp', CLIPS[0]![0], 'Kinect_RGB_1.mp4'), join(ramp, 'w_block_01/10_01/01/Kinect_RGB_1.mp4'));
      await expect(Physics101Dataset.open({ root: bad, imageSize: S })).rejects.toThrow(/no clip of the settings 20_01, 20_02 under .*ramp; expected .*ramp\/<object>_<NN>\/20_0\{1,2\}\/<trial>\/Kinect_RGB_1\.mp4/);
      for (const t of ['01', '02']) {
        mkdirSync(join(ramp, 'w_block_01/20_01', t), { recursive: true });
        copyFileSync(join(root, 'scenarios/ramp', CLIPS[t === '01' ? 0 : 1]![0], 'Kinect_RGB_1.mp4'), join(ramp, 'w_block_01/20_01', t, 'Kinect_RGB_1.mp4'));
      }
      mkdirSync(join(ramp, 'w_block_01/20_02/03'), { recursive: true }); // no video
      await expect(Physics101Dataset.open({ root: bad, imageSize: S })).rejects.toThrow(/20_02\/03\/Kinect_RGB_1\.mp4: missing video/);
      const withMissing = await Physics101Dataset.open({ root: bad, imageSize: S, skipBad: true });
      expect(withMissing.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/missing video/)]);
      rmSync(join(ramp, 'w_block_01/20_02'), { recursive: true });

      mkdirSync(join(ramp, 'w_block_01/20_02/04'), { recursive: true });
      writeFileSync(join(ramp, 'w_block_01/20_02/04/Kinect_RGB_1.mp4'), 'not a video');
      await expect(Physics101Dataset.open({ root: bad, imageSize: S })).rejects.toThrow(/20_02\/04\/Kinect_RGB_1\.mp4: cannot read the video/);
      const withCorrupt = await Physics101Dataset.open({ root: bad, imageSize: S, skipBad: true });
      expect(withCorrupt.skipped.length).toBe(1);
      expect(withCorrupt.summary()).toMatch(/1 skipped/);
      rmSync(join(ramp, 'w_block_01/20_02'), { recursive: true });

      // A dangling link (a half-copied tree) is a misplaced entry, named, not a raw ENOENT.
      symlinkSync(join(bad, 'gone'), join(ramp, 'z_block_09'));
      await expect(Physics101Dataset.open({ root: bad, imageSize: S })).rejects.toThrow(/z_block_09: unexpected entry in the ramp folder/);
      rmSync(join(ramp, 'z_block_09'));

      mkdirSync(join(ramp, 'Weird Folder'));
      await expect(Physics101Dataset.open({ root: bad, imageSize: S })).rejects.toThrow(/Weird Folder: unexpected entry in the ramp folder/);
      rmSync(join(ramp, 'Weird Folder'), { recursive: true });

      // A clip that decodes to fewer frames than needed (e.g. truncated after indexing).
      const short = join(root, 'scenarios/ramp', CLIPS[5]![0], 'Kinect_RGB_1.mp4');
      await expect(decodeClip(short, { imageSize: S, seqLength: 22, frameStep: 2, flip: false })).rejects.toThrow(/Kinect_RGB_1\.mp4: short clip: 15 frames after taking every 2nd, need 22/);

      // Decode-time failures inside batches: thrown by default, skipped and counted with skipBad.
      const ds = await Physics101Dataset.open({ root: bad, imageSize: S, skipBad: true });
      writeFileSync(ds.clips('train')[0]!.file, 'corrupted after indexing');
      const before = tf.memory().numTensors;
      let n = 0;
      for await (const b of ds.batches('train', { batchSize: 2 })) {
        n += b.obs.shape[0]!;
        b.obs.dispose();
      }
      expect(n).toBe(ds.size('train') - 1);
      expect(ds.skipped.map((s) => s.file)).toEqual([ds.clips('train')[0]!.file]);
      expect(tf.memory().numTensors).toBe(before);
      const strict = await Physics101Dataset.open({ root: bad, imageSize: S, indexCache: join(bad, 'index.json') }).catch((e: Error) => e);
      expect(String(strict)).toMatch(/cannot read the video/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('caches probed frame counts', async () => {
    const cache = join(root, '..', `phys101-cache-${process.pid}.json`);
    try {
      const a = await Physics101Dataset.open({ root, imageSize: S, indexCache: cache });
      expect(existsSync(cache)).toBe(true);
      expect(Object.values(JSON.parse(readFileSync(cache, 'utf8')))).toContain(52);
      const b = await Physics101Dataset.open({ root, imageSize: S, indexCache: cache });
      expect(b.clips('train').map((c) => c.frames)).toEqual(a.clips('train').map((c) => c.frames));
    } finally {
      rmSync(cache, { force: true });
    }
  });

  it('says how to install ffmpeg when it is missing', async () => {
    await expect(Physics101Dataset.open({ root, ffmpeg: '/nonexistent/ffmpeg' })).rejects.toThrow(/apt-get install ffmpeg/);
  });
});

describe('Physics 101 split', () => {
  it('311 train / 78 test when 389+ clips qualify, proportional below', () => {
    const many = Array.from({ length: 390 }, (_, i) => i);
    const s = phys101Split(many, 1);
    expect([s.train.length, s.test.length]).toEqual([311, 78]);
    expect(new Set([...s.train, ...s.test]).size).toBe(389);
    expect(phys101Split(many, 1).train).toEqual(s.train);
    expect(phys101Split(many, 2).train).not.toEqual(s.train);
    const few = phys101Split(Array.from({ length: 10 }, (_, i) => i), 1);
    expect([few.train.length, few.test.length]).toEqual([8, 2]);
    expect(phys101Split([1, 2], 1).test.length).toBe(1);
  });
});

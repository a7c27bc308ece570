import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { selectBackend, tf } from '@noether/core';
import { mse, psnr, ssim, SSIM_REFERENCE_CODE, PSNR_REFERENCE_CODE, mseMetric, psnrMetric, ssimMetric, gaussianKernel1d } from '../src/index.js';
import { goldenPath } from './golden.js';

interface Case {
  gt: number[][][];
  pred: number[][][];
  mse: number;
  psnr: number;
  ssim_uniform7: number;
  ssim_uniform7_range2: number;
  ssim_gaussian: number;
}
const cases = (JSON.parse(readFileSync(goldenPath('metrics.json'), 'utf8')) as { cases: Case[] }).cases;

const batch1 = (img: number[][][]) => tf.tensor4d([img]);
const value = (t: tf.Tensor) => {
  const v = t.arraySync() as number[];
  t.dispose();
  return v;
};

// scikit-image's names for our options.
const variants = {
  mse: (p: tf.Tensor, g: tf.Tensor) => mse(p, g),
  psnr: (p: tf.Tensor, g: tf.Tensor) => psnr(p, g),
  ssim_uniform7: (p: tf.Tensor, g: tf.Tensor) => ssim(p, g),
  ssim_uniform7_range2: (p: tf.Tensor, g: tf.Tensor) => ssim(p, g, SSIM_REFERENCE_CODE),
  ssim_gaussian: (p: tf.Tensor, g: tf.Tensor) => ssim(p, g, { window: 'gaussian' }),
} as const;

describe('image metrics match scikit-image 0.19 (metrics.json)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  cases.forEach((c, i) => {
    const shape = `${c.gt.length}x${c.gt[0]!.length}x${c.gt[0]![0]!.length}`;
    for (const [key, fn] of Object.entries(variants)) {
      it(`case ${i} (${shape}) ${key}`, () => {
        const p = batch1(c.pred);
        const g = batch1(c.gt);
        const [got] = value(fn(p, g));
        tf.dispose([p, g]);
        expect(Math.abs(got! - c[key as keyof typeof variants])).toBeLessThanOrEqual(1e-4);
      });
    }
  });

  it('computes each example of a batch independently', () => {
    // Same-shaped batch: a case (large enough for the 11×11 window) next to its own pred/gt
    // swapped and a scaled copy.
    const c = cases.find((k) => k.gt.length >= 11 && k.gt[0]!.length >= 11);
    if (!c) throw new Error('metrics.json has no case of at least 11×11 pixels for the batch test');
    const g = tf.tensor4d([c.gt, c.pred, c.gt]);
    const p = tf.tensor4d([c.pred, c.gt, c.gt.map((r) => r.map((px) => px.map((v) => v * 0.5)))]);
    for (const [key, fn] of Object.entries(variants)) {
      const got = value(fn(p, g));
      expect(got).toHaveLength(3);
      const want = c[key as keyof typeof variants];
      expect(Math.abs(got[0]! - want), key).toBeLessThanOrEqual(1e-4);
      // All five are symmetric in their arguments.
      expect(Math.abs(got[1]! - want), key).toBeLessThanOrEqual(1e-4);
      const alone = value(fn(tf.slice(p, [2], [1]), tf.slice(g, [2], [1])));
      expect(Math.abs(got[2]! - alone[0]!), key).toBeLessThanOrEqual(1e-6);
    }
    tf.dispose([g, p]);
  });
});

describe('image metric conventions', () => {
  it('psnr uses the data range: +20·log10(2) dB for range 2', () => {
    const a = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1);
    const b = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2);
    const p1 = value(psnr(a, b));
    const p2 = value(psnr(a, b, { dataRange: 2 }));
    p1.forEach((v, i) => expect(p2[i]! - v).toBeCloseTo(20 * Math.log10(2), 4));
    tf.dispose([a, b]);
  });

  it('psnr perChannel (PSNR_REFERENCE_CODE) is the reference code\'s loop: one PSNR per channel, averaged', () => {
    // Channels with very different errors, where the mean of per-channel PSNRs and the PSNR of the
    // pooled MSE differ by dBs: 1e-4, 1e-2 and 1e-1 squared error give 40, 20 and 10 dB.
    const g = tf.zeros([1, 4, 4, 3]);
    const p = tf.mul(tf.ones([1, 4, 4, 3]), tf.tensor1d([0.01, 0.1, Math.sqrt(0.1)]));
    const [ref] = value(psnr(p, g, PSNR_REFERENCE_CODE));
    expect(ref!).toBeCloseTo((40 + 20 + 10) / 3, 3);
    const [pooled] = value(psnr(p, g));
    expect(pooled!).toBeCloseTo(10 * Math.log10(3 / (1e-4 + 1e-2 + 1e-1)), 3);
    expect(() => psnr(tf.zeros([2, 3]), tf.zeros([2, 3]), { perChannel: true })).toThrow(/perChannel needs \[B, H, W, C\]/);
    tf.dispose([g, p]);
  });

  it('identical images: mse 0, psnr +Infinity, ssim 1', () => {
    const a = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 3);
    expect(value(mse(a, a))).toEqual([0, 0]);
    expect(value(psnr(a, a))).toEqual([Infinity, Infinity]);
    for (const v of value(ssim(a, a, { window: 'gaussian' }))) expect(v).toBeCloseTo(1, 5);
    a.dispose();
  });

  it('ssim keeps float64 accuracy on bright, flat images (no E[x²] − E[x]² cancellation), on cpu and wasm', async () => {
    // scikit-image's uniform-7 SSIM (sample covariance, range 1) in float64, one channel.
    const reference = (x: number[][], y: number[][]) => {
      const k = 7, n = 49, c1 = 1e-4, c2 = 9e-4;
      let sum = 0, count = 0;
      for (let i = 0; i + k <= x.length; i++) {
        for (let j = 0; j + k <= x[0]!.length; j++) {
          let mx = 0, my = 0;
          for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) { mx += x[i + a]![j + b]! / n; my += y[i + a]![j + b]! / n; }
          let vx = 0, vy = 0, vxy = 0;
          for (let a = 0; a < k; a++) {
            for (let b = 0; b < k; b++) {
              const dx = x[i + a]![j + b]! - mx, dy = y[i + a]![j + b]! - my;
              vx += dx * dx / (n - 1); vy += dy * dy / (n - 1); vxy += dx * dy / (n - 1);
            }
          }
          sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
          count++;
        }
      }
      return sum / count;
    };
    const grid = (f: (i: number, j: number) => number) => Array.from({ length: 12 }, (_, i) => Array.from({ length: 12 }, (_, j) => Math.fround(f(i, j))));
    const texture = (i: number, j: number) => 0.9 + 0.05 * Math.sin(1.7 * i + 0.3 * j * j);
    const pairs: [string, number[][], number[][]][] = [
      ['constant 0.75 vs 0.85', grid(() => 0.75), grid(() => 0.85)],
      ['bright texture vs itself + 1e-3', grid(texture), grid((i, j) => texture(i, j) + 1e-3)],
      ['bright texture vs a fainter copy', grid(texture), grid((i, j) => 0.9 + 0.04 * (texture(i, j) - 0.9))],
    ];
    const before = tf.getBackend();
    for (const backend of ['cpu', 'wasm'] as const) {
      await selectBackend({ backend, quiet: true });
      for (const [what, x, y] of pairs) {
        const t = (g: number[][]) => tf.tensor4d(g.flat(), [1, 12, 12, 1]);
        const [tx, ty] = [t(x), t(y)];
        const [got] = value(ssim(tx, ty));
        tf.dispose([tx, ty]);
        expect(Math.abs(got! - reference(x, y)), `${backend}: ${what}`).toBeLessThanOrEqual(1e-5);
        expect(got!, `${backend}: ${what}`).toBeLessThanOrEqual(1 + 1e-6);
      }
    }
    await selectBackend({ backend: before as 'cpu' | 'wasm', quiet: true });
  });

  it('gaussian window is scipy’s: 11 taps for σ 1.5, normalised, symmetric', () => {
    const k = gaussianKernel1d(1.5);
    expect(k).toHaveLength(11);
    expect(k.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(k[0]).toBeCloseTo(k[10]!, 15);
    expect(k[5]! / k[4]!).toBeCloseTo(Math.exp(0.5 / 2.25), 12);
  });

  it('rejects bad input with clear errors', () => {
    const a = tf.zeros([1, 6, 6, 1]);
    const b = tf.zeros([1, 6, 5, 1]);
    expect(() => ssim(a, a)).toThrow(/smaller than the 7×7 window/);
    expect(() => mse(a, b)).toThrow(/same shape/);
    expect(() => ssim(a, a, { winSize: 4 })).toThrow(/odd integer/);
    expect(() => psnr(a, a, { dataRange: 0 })).toThrow(/dataRange/);
    expect(() => ssimMetric({ window: 'box' as never })).toThrow(/window/);
    tf.dispose([a, b]);
  });

  it('Metric objects carry name, direction and per-example values', () => {
    const a = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 4);
    const b = tf.randomUniform([3, 10, 10, 3], 0, 1, 'float32', 5);
    const ms = [mseMetric, psnrMetric(), ssimMetric(), ssimMetric({ ...SSIM_REFERENCE_CODE, name: 'ssim_ref' })];
    expect(ms.map((m) => [m.name, m.higherIsBetter])).toEqual([
      ['mse', false],
      ['psnr', true],
      ['ssim', true],
      ['ssim_ref', true],
    ]);
    const direct = [mse(a, b), psnr(a, b), ssim(a, b), ssim(a, b, SSIM_REFERENCE_CODE)].map(value);
    ms.forEach((m, i) => expect(value(m.compute(a, b))).toEqual(direct[i]));
    tf.dispose([a, b]);
  });

  it('leaks no tensors over repeated calls', () => {
    const a = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 6);
    const b = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 7);
    const ms = [mseMetric, psnrMetric(), ssimMetric(), ssimMetric({ window: 'gaussian' })];
    const run = () => ms.forEach((m) => m.compute(a, b).dispose());
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });
});

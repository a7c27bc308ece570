// Options and inputs that used to give silent NaN/Infinity or an error naming the wrong thing.
import { describe, expect, it } from 'vitest';
import { tf } from '@noether/core';
import { lpipsMetric, metricOverTime, mse, mseMetric, psnr, psnrMetric, ssim, ssimMetric } from '../src/index.js';

describe('metric edge cases', () => {
  it('refuses images without pixels instead of scoring them a perfect match', () => {
    const e = tf.zeros([2, 0, 8, 1]);
    expect(() => psnr(e, e)).toThrow(/psnr: images of shape \[2,0,8,1\] have no pixels/);
    expect(() => mse(e, e)).toThrow(/mse: .* have no pixels/);
    e.dispose();
  });

  it('asks for dataRange with int32 images (0–255), and scores them as floats when given', () => {
    const a = tf.tensor4d(Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 37) % 256), [2, 8, 8, 3], 'int32');
    const b = tf.tensor4d(Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 53) % 256), [2, 8, 8, 3], 'int32');
    expect(() => psnr(a, b)).toThrow(/psnr: int32 images .* need an explicit dataRange: pass \{ dataRange: 255 \}/);
    expect(() => ssim(a, b)).toThrow(/ssim: int32 images .* need an explicit dataRange/);
    const [fa, fb] = [tf.div(tf.cast(a, 'float32'), 255), tf.div(tf.cast(b, 'float32'), 255)];
    expect(psnr(a, b, { dataRange: 255 }).arraySync()).toEqual(psnr(fa, fb).arraySync().map((v) => expect.closeTo(v, 4)));
    tf.dispose([a, b, fa, fb]);
  });

  it('the psnr and ssim Metrics at the default range refuse float images in 0–255 on their first batch, once', () => {
    const a = tf.tensor4d(Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 37) % 256), [2, 8, 8, 3]);
    const b = tf.tensor4d(Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 53) % 256), [2, 8, 8, 3]);
    const before = tf.memory().numTensors;
    expect(() => psnrMetric().compute(a, b)).toThrow(/psnr: the targets reach 255, far beyond the default dataRange 1 .*psnrMetric\(\{ dataRange: 255 \}\)/);
    expect(() => ssimMetric().compute(a, b)).toThrow(/ssim: the targets reach 255, far beyond the default dataRange 1/);
    expect(tf.memory().numTensors).toBe(before);
    // Given the range, or with images in [0, 1], they score as before.
    const given = psnrMetric({ dataRange: 255 }).compute(a, b);
    expect(given.arraySync()).toEqual(psnr(a, b, { dataRange: 255 }).arraySync());
    const [fa, fb] = [tf.div(a, 255), tf.div(b, 255)];
    const m = ssimMetric();
    expect(m.compute(fa, fb).arraySync()).toEqual(ssim(fa, fb).arraySync());
    // Checked once: later batches are not read again (a second out-of-range batch passes through).
    expect(() => tf.dispose(m.compute(a, b))).not.toThrow();
    tf.dispose([a, b, fa, fb, given]);
  });

  it('validates k1, k2 and sigma, naming the option', () => {
    const a = tf.zeros([1, 12, 12, 1]);
    expect(() => ssim(a, a, { k1: NaN })).toThrow(/ssim: k1 must be a finite number ≥ 0, got NaN/);
    expect(() => ssim(a, a, { k2: -0.03 })).toThrow(/ssim: k2 must be/);
    expect(() => ssim(a, a, { window: 'gaussian', sigma: Infinity })).toThrow(/ssim: sigma must be a positive finite number/);
    expect(() => ssim(a, a, { window: 'gaussian', sigma: 0.1 })).toThrow(/ssim: sigma 0.1 gives a 1×1 Gaussian window/);
    const small = tf.zeros([1, 8, 8, 1]);
    expect(() => ssim(small, small, { window: 'gaussian' })).toThrow(/use a smaller sigma or the uniform window/);
    tf.dispose([a, small]);
  });

  it('metricOverTime names the frame whose batch size differs', () => {
    const a = tf.zeros([2, 4, 4, 1]);
    const b = tf.zeros([1, 4, 4, 1]);
    const before = tf.memory().numTensors;
    expect(() => metricOverTime(mseMetric, [a, b], [a, b])).toThrow(/frame 1 has batch size 1, frame 0 has 2/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('LPIPS without a weights record (plain JavaScript) says to load weights, not a TypeError', () => {
    expect(() => lpipsMetric(undefined as never)).toThrow(/lpipsMetric: params must be the weights record, got undefined; load weights with loadLpipsWeights\(\)/);
    expect(() => lpipsMetric(null as never)).toThrow(/got null; load weights/);
  });

  it('LPIPS names the channel rule for RGBA images', () => {
    const m = lpipsMetric({});
    const x = tf.zeros([1, 32, 32, 4]);
    expect(() => m.compute(x, x)).toThrow(/\[B, H, W, 1\] \(grey\) images, got shape \[1,32,32,4\]; drop an alpha channel/);
    x.dispose();
  });
});

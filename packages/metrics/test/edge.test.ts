// Options and inputs that used to give silent NaN/Infinity or an error naming the wrong thing.
import { describe, expect, it } from 'vitest';
import { tf } from '@noether/core';
import { lpipsMetric, metricOverTime, mse, mseMetric, psnr, ssim } from '../src/index.js';

describe('metric edge cases', () => {
  it('refuses images without pixels instead of scoring them a perfect match', () => {
    const e = tf.zeros([2, 0, 8, 1]);
    expect(() => psnr(e, e)).toThrow(/psnr: images of shape \[2,0,8,1\] have no pixels/);
    expect(() => mse(e, e)).toThrow(/mse: .* have no pixels/);
    e.dispose();
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

  it('LPIPS names the channel rule for RGBA images', () => {
    const m = lpipsMetric({});
    const x = tf.zeros([1, 32, 32, 4]);
    expect(() => m.compute(x, x)).toThrow(/\[B, H, W, 1\] \(grey\) images, got shape \[1,32,32,4\]; drop an alpha channel/);
    x.dispose();
  });
});

import { describe, expect, it } from 'vitest';
import { tf } from '@noether/core';
import { MetricAccumulator, TimestepAccumulator, metricOverTime, metricsOverTime, mseMetric, ssimMetric } from '../src/index.js';

describe('TimestepAccumulator', () => {
  it('gives mean and standard error per timestep', () => {
    // Timestep 0: 1, 2, 3 → mean 2, sd 1, se 1/√3. Timestep 1: 10, 10, 40 → mean 20, sd √300, se 10.
    const r = new TimestepAccumulator().add([[1, 10], [2, 10], [3, 40]]).result();
    expect(r.n).toBe(3);
    expect(r.mean[0]).toBeCloseTo(2, 12);
    expect(r.mean[1]).toBeCloseTo(20, 12);
    expect(r.stderr[0]).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(r.stderr[1]).toBeCloseTo(10, 12);
  });

  it('gives the same answer batch by batch as all at once, from tensors too', () => {
    // float32-exact values, so the tensor path sees the same numbers.
    const rows = Array.from({ length: 7 }, (_, i) => [Math.fround(Math.sin(i)), i * i, 1e6 + i * 0.125]);
    const whole = new TimestepAccumulator().add(rows).result();
    const acc = new TimestepAccumulator();
    const t1 = tf.tensor2d(rows.slice(0, 3));
    acc.add(t1).add(rows.slice(3, 4)).add(rows.slice(4));
    t1.dispose();
    const parts = acc.result();
    expect(parts.n).toBe(7);
    parts.mean.forEach((m, i) => expect(m).toBeCloseTo(whole.mean[i]!, 9));
    parts.stderr.forEach((s, i) => expect(s).toBeCloseTo(whole.stderr[i]!, 9));
    // Third column: a small spread around 1e6, checked against a two-pass computation.
    const col = rows.map((r) => r[2]!);
    const mu = col.reduce((a, b) => a + b) / 7;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - mu) ** 2, 0) / 6);
    expect(parts.stderr[2]! / (sd / Math.sqrt(7))).toBeCloseTo(1, 6);
  });

  it('non-finite values: +Infinity (PSNR of an identical frame) gives an infinite mean, not NaN; the other timesteps are untouched', () => {
    const r = new TimestepAccumulator('psnr').add([[Infinity, 3, NaN, Infinity], [10, 5, 1, -Infinity]]).add([[20, 7, 2, 1]]).result();
    expect(r.mean).toEqual([Infinity, 5, NaN, NaN]);
    expect(r.stderr[0]).toBeNaN();
    expect(r.stderr[1]).toBeCloseTo(2 / Math.sqrt(3), 12);
    // A later batch's finite values do not bring an infinite timestep back to a finite mean.
    expect(new TimestepAccumulator().add([[Infinity, 1]]).add([[2, 3]]).result().mean).toEqual([Infinity, 2]);
  });

  it('stderr is NaN for a single example; mismatched T is refused', () => {
    const acc = new TimestepAccumulator('psnr').add([[1, 2]]);
    expect(acc.result().stderr.every(Number.isNaN)).toBe(true);
    expect(() => acc.add([[1, 2, 3]])).toThrow(/TimestepAccumulator\(psnr\)\.add: 3 timesteps, earlier batches had 2/);
  });

  it('MetricAccumulator keeps one accumulator per metric', () => {
    const acc = new MetricAccumulator();
    acc.addAll({ mse: [[1], [3]], ssim: [[0.5, 0.7]] }).add('mse', [[5]]);
    const r = acc.results();
    expect(acc.names()).toEqual(['mse', 'ssim']);
    expect(r.mse!.n).toBe(3);
    expect(r.mse!.mean).toEqual([3]);
    expect(r.mse!.stderr[0]).toBeCloseTo(2 / Math.sqrt(3), 12);
    expect(r.ssim!.mean).toEqual([0.5, 0.7]);
  });
});

describe('metricOverTime', () => {
  it('stacks per-timestep values to [B, T] without leaking', () => {
    const preds = [0, 1, 2].map((t) => tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 10 + t));
    const targets = [0, 1, 2].map((t) => tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 20 + t));
    const before = tf.memory().numTensors;
    const v = metricOverTime(mseMetric, preds, targets);
    expect(v.shape).toEqual([2, 3]);
    const got = v.arraySync();
    v.dispose();
    const m1 = mseMetric.compute(preds[1]!, targets[1]!);
    expect(got.map((r) => r[1])).toEqual(m1.arraySync());
    m1.dispose();
    const all = metricsOverTime([mseMetric, ssimMetric({ winSize: 3 })], preds, targets);
    expect(Object.keys(all)).toEqual(['mse', 'ssim']);
    expect(all.ssim!.length).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => metricOverTime(mseMetric, preds, targets.slice(1))).toThrow(/same non-zero number/);
    tf.dispose([...preds, ...targets]);
  });
});

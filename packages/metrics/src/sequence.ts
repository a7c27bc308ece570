// Metrics over predicted sequences, per example and per timestep.
import { tf } from '@noether/core';
import type { Metric } from '@noether/core';

/**
 * Evaluates `metric` at every timestep of a rollout given as lists over time of
 * [B, ...] (the layout of core's TaskLoss). Returns [B, T] values, ready for
 * TimestepAccumulator.add.
 */
export function metricOverTime(metric: Metric, preds: readonly tf.Tensor[], targets: readonly tf.Tensor[]): tf.Tensor2D {
  if (preds.length !== targets.length || preds.length === 0) {
    throw new Error(`metricOverTime(${metric.name}): ${preds.length} predicted and ${targets.length} target frames; need the same non-zero number`);
  }
  const b = preds[0]!.shape[0];
  preds.forEach((p, t) => {
    if (p.shape[0] !== b) throw new Error(`metricOverTime(${metric.name}): frame ${t} has batch size ${p.shape[0]}, frame 0 has ${b}; every frame needs the same batch`);
  });
  return tf.tidy(() => tf.stack(preds.map((p, t) => metric.compute(p, targets[t]!)), 1) as tf.Tensor2D);
}

/** metricOverTime for several metrics at once, as plain arrays { name: [B][T] }. */
export function metricsOverTime(
  metrics: readonly Metric[],
  preds: readonly tf.Tensor[],
  targets: readonly tf.Tensor[],
): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  for (const m of metrics) {
    if (m.name in out) throw new Error(`metricsOverTime: two metrics are named '${m.name}'`);
    const v = metricOverTime(m, preds, targets);
    out[m.name] = v.arraySync();
    v.dispose();
  }
  return out;
}

// LPIPS as a Metric object over a loaded parameter record.
import { tf, type Params } from '@noether/core';
import type { Metric } from '@noether/core';
import { lpipsDistance } from './network.js';

export interface LpipsMetricOptions {
  /**
   * Value range of the images given to compute(): [0, 1] (default, like the other
   * metrics; mapped to [−1, 1] as the reference code did) or already [−1, 1].
   */
  inputRange?: '0,1' | '-1,1';
  name?: string;
}

/**
 * LPIPS (lower is better) on [B, H, W, C] images, C = 3 or 1 (grey images are
 * repeated over RGB). `params` comes from loadLpipsWeights(); it stays owned by the caller.
 */
export function lpipsMetric(params: Params, opts: LpipsMetricOptions = {}): Metric {
  // Plain JavaScript can pass anything: refuse a missing record here, not as a TypeError at compute.
  if (typeof params !== 'object' || params === null) {
    throw new Error(
      `lpipsMetric: params must be the weights record, got ${params === null ? 'null' : typeof params}; load weights with loadLpipsWeights() ` +
        `(see packages/metrics/README.md, "LPIPS weights")`,
    );
  }
  const range = opts.inputRange ?? '0,1';
  if (range !== '0,1' && range !== '-1,1') throw new Error(`lpipsMetric: inputRange must be '0,1' or '-1,1', got '${String(range)}'`);
  const prep = (x: tf.Tensor, other: tf.Tensor): tf.Tensor => {
    // Checked before grey is repeated over RGB: a grey image against a colour one is a mistake.
    if (x.shape.length !== other.shape.length || x.shape.some((d, i) => d !== other.shape[i])) {
      throw new Error(`lpips: the two inputs differ in shape: [${x.shape}] vs [${other.shape}]`);
    }
    if (x.rank !== 4 || (x.shape[3] !== 1 && x.shape[3] !== 3)) {
      throw new Error(`lpips: expected [B, H, W, 3] (RGB) or [B, H, W, 1] (grey) images, got shape [${x.shape}]; drop an alpha channel first`);
    }
    let y = tf.cast(x, 'float32');
    if (y.shape[3] === 1) y = tf.concat([y, y, y], 3);
    return range === '0,1' ? tf.sub(tf.mul(y, 2), 1) : y;
  };
  return Object.freeze({
    name: opts.name ?? 'lpips',
    higherIsBetter: false,
    compute: (pred: tf.Tensor, target: tf.Tensor) => tf.tidy(() => lpipsDistance(params, prep(pred, target), prep(target, pred))),
  });
}

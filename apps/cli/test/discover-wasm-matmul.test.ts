import { describe, expect, it } from 'vitest';
import { tf, selectBackend } from '@noether/core';
import { installWasmMatMulTranspose } from '../src/discover/wasm-matmul.js';

// Products with transposed operands, 2-D and batched, and their gradients (which use transposed
// products themselves), before and after wrapping the wasm kernel: the wrapper must not change them.
function products(): number[][] {
  return tf.tidy(() => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([0.5, -1, 2, 0, 1, 3], [3, 2]);
    const c = tf.tensor3d(Array.from({ length: 12 }, (_, i) => i - 5), [2, 2, 3]);
    const d = tf.tensor3d(Array.from({ length: 12 }, (_, i) => (i % 5) - 1.5), [2, 3, 2]);
    const outs = [
      tf.matMul(a, b), tf.matMul(a, tf.transpose(b), false, true), tf.matMul(tf.transpose(a), b, true, false),
      tf.matMul(tf.transpose(a), tf.transpose(b), true, true), tf.matMul(c, d), tf.matMul(c, c, false, true), tf.matMul(d, d, true, false),
    ];
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D))))([a, b]);
    return [...outs, ga!, gb!].map((t) => Array.from(t.dataSync()));
  });
}

describe('wasm BatchMatMul with transposed operands', () => {
  it('gives the same products and gradients as the unwrapped kernel', async () => {
    await selectBackend({ backend: 'wasm', quiet: true });
    const before = products();
    // a·b by hand: [[1,2,3],[4,5,6]]·[[.5,-1],[2,0],[1,3]]
    expect(before[0]).toEqual([7.5, 8, 18, 14]);
    expect(installWasmMatMulTranspose()).toBe(true);
    const n = tf.memory().numTensors;
    const after = products();
    expect(tf.memory().numTensors).toBe(n);
    expect(after).toEqual(before);
    for (let i = 1; i < 4; i++) expect(after[i]).toEqual(after[0]);
  }, 60_000);
});

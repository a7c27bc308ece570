// tfjs 4.22's cpu and wasm BatchMatMul flatten the batch dims and index the smaller batch modulo its
// size: a batch broadcast along an inner dim ([2, 1, M, K] @ [1, 3, K, N]) paired the wrong
// matrices, silently. Core tiles such batches out (backend/composer.ts).
import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng } from '../../src/rng.js';
import { selectBackend } from '../../src/backend/select.js';

const uni = (seed: number, shape: number[]) => tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

/** matMul by broadcasting multiply + sum, which every backend gets right. */
const reference = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.expandDims(a, -1), tf.expandDims(b, -3)), -2);

const cases: Array<[number[], number[]]> = [
  [[2, 1, 3, 4], [1, 3, 4, 2]], // both broadcast, inner dims: was wrong
  [[2, 1, 3, 4], [3, 4, 2]], // was wrong
  [[2, 3, 1, 3, 4], [3, 2, 4, 2]], // was wrong
  [[1, 3, 4], [2, 4, 2]], // leading broadcast: always right
  [[2, 3, 3, 4], [3, 4, 2]],
  [[2, 3, 4], [4, 2]],
];

describe('matMul with broadcast batch dims', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`matches the broadcast reference on ${backend}, and its gradient has the inputs' shapes`, async () => {
      await selectBackend({ backend, quiet: true });
      for (const [sa, sb] of cases) {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const [a, b] = [uni(1, sa), uni(2, sb)];
          const y = tf.matMul(a, b);
          expect(y.shape).toEqual(reference(a, b).shape);
          const err = tf.max(tf.abs(tf.sub(y, reference(a, b)))).dataSync()[0]!;
          expect(err, `[${sa}] @ [${sb}]`).toBeLessThan(1e-5);
          const [ga, gb] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.sin(tf.matMul(x, z))))([a, b]);
          const [ra, rb] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.sin(reference(x, z))))([a, b]);
          expect(ga!.shape).toEqual(sa);
          expect(gb!.shape).toEqual(sb);
          expect(tf.max(tf.abs(tf.sub(ga!, ra!))).dataSync()[0]).toBeLessThan(1e-5);
          expect(tf.max(tf.abs(tf.sub(gb!, rb!))).dataSync()[0]).toBeLessThan(1e-5);
        });
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }
});

// tfjs 4.22's cpu Einsum gives wrong shapes and values for some equations and wasm has no Einsum:
// core composes it (backend/composer.ts). Checked against the same contraction written out.
import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { Rng } from '../../src/rng.js';
import { selectBackend } from '../../src/backend/select.js';

type T = tf.Tensor;
const uni = (seed: number, shape: number[]) => tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

const cases: Array<[string, number[], number[] | null, (a: T, b: T) => T]> = [
  ['ij,jk->ik', [2, 3], [3, 4], (a, b) => tf.matMul(a, b)],
  ['bij,bjk->bik', [2, 2, 3], [2, 3, 2], (a, b) => tf.matMul(a, b)],
  ['ij,kj->ik', [2, 3], [4, 3], (a, b) => tf.matMul(a, b, false, true)],
  ['ij,ij->i', [2, 3], [2, 3], (a, b) => tf.sum(tf.mul(a, b), 1)],
  ['ij,ij->', [2, 3], [2, 3], (a, b) => tf.sum(tf.mul(a, b))],
  ['i,j->ij', [3], [2], (a, b) => tf.outerProduct(a as tf.Tensor1D, b as tf.Tensor1D)],
  ['ij,k->ik', [2, 3], [2], (a, b) => tf.mul(tf.sum(a, 1, true), tf.expandDims(b, 0))], // stock: [2, 1]
  ['a,ij->ij', [1], [2, 3], (a, b) => tf.mul(a, b)], // stock: [1, 1]
  ['ij->ji', [2, 3], null, (a) => tf.transpose(a)],
  ['ijk->j', [2, 3, 2], null, (a) => tf.sum(a, [0, 2])],
];

describe('einsum', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`matches the contraction written out on ${backend}, leaving no tensor behind`, async () => {
      await selectBackend({ backend, quiet: true });
      for (const [eq, sa, sb, ref] of cases) {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const a = uni(1, sa);
          const b = sb ? uni(2, sb) : a;
          const got = sb ? tf.einsum(eq, a, b) : tf.einsum(eq, a);
          const want = ref(a, b);
          expect(got.shape, eq).toEqual(want.shape);
          expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0], eq).toBeLessThan(1e-5);
        });
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }
});

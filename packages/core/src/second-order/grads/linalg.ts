// Products: matMul with broadcast batches, and einsum.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T } from './util.js';

// BatchMatMul: tfjs 4.22's gradient returns the broadcast shape, so a batched a against an
// unbatched (or size-1-batch) b, e.g. x [B, T, D] @ W [D, H], fails with a shape error. Sum the
// gradient over the batch dims the input was broadcast along.
function sumToShape(g: T, shape: readonly number[]): T {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.map((d, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return tf.reshape(tf.sum(g, axes), shape as number[]);
}

export const batchMatMulGrad: GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, [a, b], attrs) => {
    const { transposeA: ta, transposeB: tb } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const d = dy as T;
    const [ga, gb] = !ta && !tb ? [() => tf.matMul(d, b!, false, true), () => tf.matMul(a!, d, true, false)]
      : !ta && tb ? [() => tf.matMul(d, b!, false, false), () => tf.matMul(d, a!, true, false)]
      : ta && !tb ? [() => tf.matMul(b!, d, false, true), () => tf.matMul(a!, d, false, false)]
      : [() => tf.matMul(b!, d, true, true), () => tf.matMul(d, a!, true, true)];
    return { a: () => sumToShape(ga(), a!.shape), b: () => sumToShape(gb(), b!.shape) };
  },
};

// Einsum has no gradient in tfjs 4.22. For an input with subscripts S (at most two inputs, no
// repeated letter, as tfjs allows), the gradient is dy contracted with the other input onto the
// letters of S that dy or the other input carries, broadcast along the letters summed in S alone.
export const einsumGrad: GradConfig = {
  kernelName: 'Einsum',
  saveAllInputs: true,
  gradFunc: (dy, saved, attrs) => {
    const eq = (attrs as unknown as { equation: string }).equation.replace(/\s/g, '');
    const [ins, out] = eq.split('->') as [string, string];
    const terms = ins.split(',');
    const used = new Set(eq);
    const fresh = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].find((l) => !used.has(l))!;
    // A scalar dy gets a size-1 axis of its own (tfjs parses no empty subscripts).
    const [g, gOut] = out === '' ? [tf.reshape(dy as T, [1]), fresh] : [dy as T, out];
    return Object.fromEntries(
      terms.map((term, i) => [
        String(i),
        () => {
          const other = terms.length === 2 ? terms[1 - i]! : '';
          const keep = [...term].filter((l) => gOut.includes(l) || other.includes(l)).join('');
          const inputs = other ? [g, saved[1 - i]!] : [g];
          const c = tf.einsum(`${other ? `${gOut},${other}` : gOut}->${keep}`, ...inputs);
          const x = saved[i]!;
          const spread = tf.reshape(c, [...term].map((l, k) => (keep.includes(l) ? x.shape[k]! : 1)));
          return keep.length === term.length ? spread : tf.mul(spread, tf.onesLike(x));
        },
      ]),
    );
  },
};

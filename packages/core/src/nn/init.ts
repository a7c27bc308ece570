// Weight initialisers, seeded through Rng so they agree on every backend.
import { tf } from '../tf.js';
import { Rng, randomNormal, randomUniform } from '../rng.js';

export function zeros(shape: number[]): tf.Tensor {
  return tf.zeros(shape);
}

export function ones(shape: number[]): tf.Tensor {
  return tf.ones(shape);
}

/** Glorot/Xavier uniform for a [fanIn, fanOut] (or conv [kh, kw, in, out]) weight. */
export function glorotUniform(rng: Rng, shape: number[]): tf.Tensor {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const fanIn = shape[shape.length - 2]! * receptive;
  const fanOut = shape[shape.length - 1]! * receptive;
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  return randomUniform(rng, shape, -lim, lim);
}

export function normalInit(rng: Rng, shape: number[], std: number, mean = 0): tf.Tensor {
  return randomNormal(rng, shape, std, mean);
}

/** Orthogonal init (as torch.nn.init.orthogonal_) for a [rows, cols] matrix, via Gram-Schmidt
 * on a Gaussian matrix in float64. */
export function orthogonal(rng: Rng, shape: [number, number], gain = 1): tf.Tensor {
  const [r, c] = shape;
  const n = Math.max(r, c);
  const m = Math.min(r, c);
  // m orthonormal vectors of length n
  const vecs: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = rng.normal();
    for (const u of vecs) {
      let d = 0;
      for (let k = 0; k < n; k++) d += u[k]! * v[k]!;
      for (let k = 0; k < n; k++) v[k] -= d * u[k]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += v[k]! * v[k]!;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) v[k] /= norm;
    vecs.push(v);
  }
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) out[i * c + j] = gain * (r >= c ? vecs[j]![i]! : vecs[i]![j]!);
  return tf.tensor(out, shape);
}

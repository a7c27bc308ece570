// Parameter trees are flat records of tensors keyed by '/'-separated paths
// ("enc/conv1/w"). Models are pure functions f(params, x) over them, which is
// what makes differentiating through a tailoring step straightforward.
import { tf } from './tf.js';

export type Params = Record<string, tf.Tensor>;

/** Applies fn to every tensor, keeping the names. */
export function mapParams(p: Params, fn: (t: tf.Tensor, name: string) => tf.Tensor): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = fn(v, k);
  return out;
}

/** The entries of p whose names are in names (in that order). */
export function pickParams(p: Params, names: readonly string[]): Params {
  const out: Params = {};
  for (const n of names) {
    const t = p[n];
    if (!t) throw new Error(`parameter '${n}' not found; have: ${Object.keys(p).join(', ')}`);
    out[n] = t;
  }
  return out;
}

/** Prefixes every name with `${prefix}/`. */
export function prefixParams(p: Params, prefix: string): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[`${prefix}/${k}`] = v;
  return out;
}

/** The entries under `${prefix}/`, with the prefix removed. */
export function scopeParams(p: Params, prefix: string): Params {
  const out: Params = {};
  const pre = `${prefix}/`;
  for (const [k, v] of Object.entries(p)) if (k.startsWith(pre)) out[k.slice(pre.length)] = v;
  return out;
}

export function disposeParams(...ps: (Params | undefined)[]): void {
  for (const p of ps) if (p) for (const t of Object.values(p)) if (!t.isDisposed) t.dispose();
}

export function countParams(p: Params): number {
  return Object.values(p).reduce((n, t) => n + t.size, 0);
}

/** Deep copy (new tensors), e.g. to keep parameters alive outside a tidy. */
export function cloneParams(p: Params): Params {
  return mapParams(p, (t) => t.clone());
}

/** Global L2 norm of a set of tensors, as a scalar tensor. */
export function globalNorm(p: Params): tf.Scalar {
  return tf.tidy(() => {
    const sq = Object.values(p).map((t) => tf.sum(tf.square(t)));
    return tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0)) as tf.Scalar;
  });
}

/** tf.tidy for results that hold tensors in any nested object shape (records, states).
 * tf.tidy keeps every tensor it finds in the returned container. */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/** tf.valueAndGrads(f)(xs), except that an x the value does not depend on (a parameter a model
 * declares but does not use, e.g. one only used with actions) gets a zero gradient, as in JAX,
 * instead of tfjs's "Cannot compute gradient of y=f(x) with respect to x", which names none. */
export function valueAndGradsOrZero(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): { value: tf.Scalar; grads: tf.Tensor[] } {
  const { value, grads } = tf.engine().gradients(() => f(...xs), xs, undefined, true);
  return { value: value as tf.Scalar, grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i]!)) };
}

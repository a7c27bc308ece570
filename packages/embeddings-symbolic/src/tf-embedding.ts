// A formula as a differentiable Noether embedding g_φ(x) in tfjs: φ are the formula's
// parameters (one scalar tensor each), x a batch of states [B, D] → [B, 1].
import { tf, type Embedding, type Params } from '@noether/core';
import type { Expr } from './dsl.js';
import { compile } from './program.js';

/** Parameter names of a formula: `${prefix}c0`, `${prefix}c1`, ... */
export function paramNames(expr: Expr, prefix = 'sym/'): string[] {
  return Array.from({ length: compile(expr).nParams }, (_, i) => `${prefix}c${i}`);
}

/** Largest finite float32: parameters are float32 scalars, and a bigger value would silently become ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

function checkValues(names: readonly string[], values: readonly number[]): void {
  if (values.length !== names.length) throw new Error(`formula has ${names.length} parameters; got ${values.length} values`);
  values.forEach((v, i) => {
    if (!(Math.abs(v) <= FLOAT32_MAX)) throw new Error(`parameter values[${i}] = ${v} is not a finite float32 (|v| ≤ 3.4e38); give a finite value in range`);
  });
}

/** Params record holding the given values (float32 scalars). */
export function formulaParams(expr: Expr, values: readonly number[], prefix = 'sym/'): Params {
  const names = paramNames(expr, prefix);
  checkValues(names, values);
  const out: Params = {};
  names.forEach((n, i) => (out[n] = tf.scalar(values[i]!)));
  return out;
}

/** (params, x [B, D]) => g [B, 1], differentiable w.r.t. params and x. Call inside tf.tidy. */
export function formulaToTf(expr: Expr, prefix = 'sym/'): (params: Params, x: tf.Tensor) => tf.Tensor {
  const names = paramNames(expr, prefix);
  return (params, x) => {
    if (x.rank !== 2) throw new Error(`formula embedding expects states [B, D]; got shape [${x.shape.join(', ')}]`);
    const cols = new Map<number, tf.Tensor>();
    const col = (i: number): tf.Tensor => {
      if (i >= x.shape[1]!) throw new Error(`formula reads input ${i}; states have ${x.shape[1]} columns`);
      let c = cols.get(i);
      if (!c) cols.set(i, (c = tf.slice(x, [0, i], [-1, 1])));
      return c;
    };
    const go = (e: Expr): tf.Tensor => {
      switch (e.op) {
        case 'input':
          return col(e.index);
        case 'param': {
          const p = params[names[e.index]!];
          if (!p) throw new Error(`parameter '${names[e.index]}' not found; have: ${Object.keys(params).join(', ')}`);
          return p;
        }
        case 'sin':
          return tf.sin(go(e.arg));
        case 'cos':
          return tf.cos(go(e.arg));
        case 'square':
          return tf.square(go(e.arg));
        case '+':
          return tf.add(go(e.left), go(e.right));
        case '-':
          return tf.sub(go(e.left), go(e.right));
        case '*':
          return tf.mul(go(e.left), go(e.right));
        case '/':
          return tf.div(go(e.left), go(e.right));
      }
    };
    const g = go(expr);
    // Constants (no input) still give one value per state.
    return g.rank === 2 && g.shape[0] === x.shape[0] ? g : tf.add(g, tf.zeros([x.shape[0]!, 1]));
  };
}

/** The formula as core's Embedding (arity 1, dim 1), φ initialised to `values`. */
export function symbolicEmbedding(expr: Expr, values: readonly number[], opts: { name?: string; prefix?: string } = {}): Embedding {
  const prefix = opts.prefix ?? 'sym/';
  const fn = formulaToTf(expr, prefix);
  checkValues(paramNames(expr, prefix), values);
  return {
    name: opts.name ?? 'symbolic',
    arity: 1,
    dim: 1,
    init: () => formulaParams(expr, values, prefix),
    apply: (params, xs) => {
      const x = xs[0];
      if (!x) throw new Error('symbolic embedding: apply needs one state tensor [B, D]');
      return fn(params, x.rank === 2 ? x : tf.reshape(x, [x.shape[0]!, -1]));
    },
  };
}

import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@noether/core';
import { compile, ConservationFitter, evaluate, formatExpr, formulaParams, formulaToTf, symbolicEmbedding, type Expr } from '../src/index.js';

const q: Expr = { op: 'input', index: 0 };
const p: Expr = { op: 'input', index: 1 };
const c = (index: number): Expr => ({ op: 'param', index });
// p² − c0·cos q, and a formula exercising every operation: sin(c0·q)/(p² + c1) − cos(q)·q
const pend: Expr = { op: '-', left: { op: 'square', arg: p }, right: { op: '*', left: c(0), right: { op: 'cos', arg: q } } };
const all: Expr = {
  op: '-',
  left: { op: '/', left: { op: 'sin', arg: { op: '*', left: c(0), right: q } }, right: { op: '+', left: { op: 'square', arg: p }, right: c(1) } },
  right: { op: '*', left: { op: 'cos', arg: q }, right: q },
};
const direct = (x: number, y: number, [a, b]: number[]): number => Math.sin(a! * x) / (y * y + b!) - Math.cos(x) * x;

function states(seed: number, n: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: 2 * n }, () => rng.uniform(-2, 2));
}

describe('formulas', () => {
  it('print readably, with and without fitted values', () => {
    expect(formatExpr(pend, { params: [2.99] })).toBe('p^2 - 2.99*cos(q)');
    expect(formatExpr(pend)).toBe('p^2 - c*cos(q)');
    expect(formatExpr(all, { numberParams: true })).toBe('sin(c0*q)/(p^2 + c1) - cos(q)*q');
    expect(formatExpr(pend, { params: [-1.5] })).toBe('p^2 - (-1.5)*cos(q)');
    // Right operands of equal precedence keep parentheses, so printing is one-to-one.
    const qq = (op: '+' | '-'): Expr => ({ op, left: q, right: q });
    expect(formatExpr({ op: '-', left: q, right: qq('-') })).toBe('q - (q - q)');
    expect(formatExpr({ op: '-', left: qq('-'), right: q })).toBe('q - q - q');
    expect(formatExpr({ op: '+', left: q, right: qq('+') })).toBe('q + (q + q)');
    expect(formatExpr({ op: 'square', arg: qq('+') })).toBe('(q + q)^2');
  });

  it('Float64 evaluator matches direct computation', () => {
    const x = states(1, 50);
    const v = evaluate(all, [0.7, 5], x, 2);
    for (let i = 0; i < 50; i++) expect(v[i]).toBeCloseTo(direct(x[2 * i]!, x[2 * i + 1]!, [0.7, 5]), 12);
    expect(() => evaluate(all, [1], x, 2)).toThrow(/2 parameters; got 1/);
  });

  it('tfjs embedding agrees with Float64, has [B, 1] output and exact gradients, no leaks', () => {
    const x = states(2, 16);
    const fn = formulaToTf(all);
    const params = formulaParams(all, [0.7, 5]);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => fn(params, tf.tensor2d(Float32Array.from(x), [16, 2])));
    expect(out.shape).toEqual([16, 1]);
    const want = evaluate(all, [0.7, 5], x, 2);
    const got = out.dataSync();
    for (let i = 0; i < 16; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    out.dispose();
    // d/dc0 Σ g = Σ q cos(c0 q)/(p² + c1); d/dc1 Σ g = −Σ sin(c0 q)/(p² + c1)².
    const [g0, g1] = tf.tidy(() => {
      const xs = tf.tensor2d(Float32Array.from(x), [16, 2]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(fn({ 'sym/c0': a, 'sym/c1': b }, xs));
      return tf.grads(f)([params['sym/c0']!, params['sym/c1']!]).map((t) => t.dataSync()[0]!);
    });
    let d0 = 0;
    let d1 = 0;
    for (let i = 0; i < 16; i++) {
      const [xq, xp] = [x[2 * i]!, x[2 * i + 1]!];
      d0 += (xq * Math.cos(0.7 * xq)) / (xp * xp + 5);
      d1 -= Math.sin(0.7 * xq) / (xp * xp + 5) ** 2;
    }
    expect(g0).toBeCloseTo(d0, 3);
    expect(g1).toBeCloseTo(d1, 3);
    tf.dispose(Object.values(params));
    expect(tf.memory().numTensors).toBe(before - 2);
  });

  it('serves as a core Embedding (arity 1, dim 1, φ = fitted parameters)', () => {
    const emb = symbolicEmbedding(pend, [3]);
    const phi = emb.init(0);
    expect(Object.keys(phi)).toEqual(['sym/c0']);
    const y = tf.tidy(() => emb.apply(phi, [tf.tensor2d([[0, 1], [Math.PI, 2]])]));
    expect(Array.from(y.dataSync())).toEqual([1 - 3, 4 + 3].map((v) => Math.fround(v)));
    expect([emb.arity, emb.dim]).toEqual([1, 1]);
    tf.dispose([y, ...Object.values(phi)]);
  });
});

describe('fitting', () => {
  it('recovers the parameter of an exactly conserved formula; scale-invariant; constants are degenerate', () => {
    const rng = new Rng(3);
    // Sequences on circles q² + 2.5 p² = r²: the formula q^2 + c*p^2 is conserved with c = 2.5.
    const K = 6;
    const T = 12;
    const values = new Float64Array(K * T * 2);
    for (let k = 0; k < K; k++) {
      const r = rng.uniform(0.5, 2);
      for (let t = 0; t < T; t++) {
        const a = rng.uniform(0, 2 * Math.PI);
        values[(k * T + t) * 2] = r * Math.cos(a);
        values[(k * T + t) * 2 + 1] = (r * Math.sin(a)) / Math.sqrt(2.5);
      }
    }
    const fitter = new ConservationFitter({ values, sequences: K, steps: T, dim: 2 });
    const f: Expr = { op: '+', left: { op: 'square', arg: q }, right: { op: '*', left: c(0), right: { op: 'square', arg: p } } };
    const r = fitter.fit(compile(f), new Rng(0));
    expect(r.params[0]).toBeCloseTo(2.5, 8);
    expect(r.ratio).toBeLessThan(1e-20);
    // R is affine-invariant: a constant is degenerate, not "perfectly conserved".
    expect(fitter.ratio(compile({ op: 'sin', arg: c(0) }), [0.3]).degenerate).toBe(true);
    const f1: Expr = { op: '+', left: { op: 'square', arg: q }, right: { op: '*', left: c(1), right: { op: 'square', arg: p } } };
    const sc = fitter.ratio(compile({ op: '*', left: c(0), right: f1 }), [7, 2.5]);
    expect(sc.ratio).toBeLessThan(1e-20);
  });
});

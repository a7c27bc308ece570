import { describe, expect, it } from 'vitest';
import { Rng } from '@noether/core';
import { distinctLaws, enumerate, evaluate, mergeShards, parseFormula, rankByTailoring, search, searchShard, type CandidateResult } from '../src/index.js';
import { pendulumData, springData } from './data.js';

/** Least squares g ≈ α·q² + β·p² + γ over random states; returns α, β and the relative residual. */
function fitQuadratic(r: CandidateResult): { alpha: number; beta: number; residual: number } {
  const rng = new Rng(11);
  const n = 200;
  const x = Float64Array.from({ length: 2 * n }, () => rng.uniform(-1, 1));
  const g = evaluate(r.expr, r.params, x, 2);
  // Normal equations for the 3 features.
  const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const b = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const f = [x[2 * i]! ** 2, x[2 * i + 1]! ** 2, 1];
    for (let j = 0; j < 3; j++) {
      b[j]! += f[j]! * g[i]!;
      for (let k = 0; k < 3; k++) A[3 * j + k]! += f[j]! * f[k]!;
    }
  }
  const det = (m: number[]): number => m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const D = det(A);
  const col = (j: number): number[] => A.map((v, i) => (i % 3 === j ? b[Math.floor(i / 3)]! : v));
  const [alpha, beta, gamma] = [0, 1, 2].map((j) => det(col(j)) / D) as [number, number, number];
  let res = 0;
  let tot = 0;
  const mean = g.reduce((s, v) => s + v, 0) / n;
  for (let i = 0; i < n; i++) {
    res += (g[i]! - alpha * x[2 * i]! ** 2 - beta * x[2 * i + 1]! ** 2 - gamma) ** 2;
    tot += (g[i]! - mean) ** 2;
  }
  return { alpha, beta, residual: Math.sqrt(res / tot) };
}

describe('search', () => {
  it('spring, depth 7, all candidates: the best survivor is q² + c·p² with c ≈ 1', () => {
    const data = springData(1, 8, 10);
    const res = search({ system: 'spring', depth: 7, seed: 3, data });
    const c = res.counts;
    expect(res.enumerated).toBe(38001);
    expect(c.assigned).toBe(38001);
    expect(c.constant + c.parameterFree + c.fitted).toBe(c.assigned);
    expect(c.degenerate + c.nonFinite + c.notConserved + c.randomFitted).toBe(c.parameterFree + c.fitted);
    expect(c.accepted + c.rejectedByRandom).toBe(c.randomFitted);
    expect(c.accepted).toBeGreaterThan(0);
    expect(c.accepted).toBeLessThan(0.01 * c.assigned); // the filter is selective
    const best = res.ranked[0]!;
    const { alpha, beta, residual } = fitQuadratic(best);
    expect(residual).toBeLessThan(1e-9);
    expect(beta / alpha).toBeCloseTo(1, 6);
    expect(best.trueRatio).toBeLessThan(1e-20);
    expect(best.randomRatio).toBeGreaterThan(100 * best.trueRatio);
  });

  it('pendulum, depth 7: p² − c·cos q survives with c ≈ 3; most others do not', () => {
    const data = pendulumData(2, 10, 20);
    const E = enumerate('pendulum', 7);
    const target = E.find('p^2 - c*cos(q)');
    const sample = Array.from({ length: Math.floor(E.count / 97) }, (_, i) => i * 97);
    const res = search({ system: 'pendulum', depth: 7, seed: 1, data, candidates: [target, ...sample] });
    const hit = res.results.find((r) => r.index === target)!;
    expect(hit.accepted).toBe(true);
    expect(hit.params[0]).toBeCloseTo(3, 6);
    expect(hit.formula).toBe('p^2 - 3*cos(q)');
    expect(res.counts.accepted).toBeLessThan(0.05 * res.counts.assigned);
    expect(res.ranked.length).toBe(res.counts.accepted);
  });

  it('merged shards equal the unsharded run, whatever the number of shards', () => {
    const data = pendulumData(3, 6, 12);
    const base = { system: 'pendulum', depth: 5, seed: 7, data, keepRejected: true } as const;
    const one = mergeShards([searchShard({ ...base, shard: 0, of: 1 })]);
    const three = mergeShards([2, 0, 1].map((shard) => searchShard({ ...base, shard, of: 3 })));
    expect(three).toEqual(one);
    expect(one.results.length).toBe(one.enumerated);
    expect(one.results.map((r) => r.index)).toEqual(Array.from({ length: one.enumerated }, (_, i) => i));
    const parts = [0, 1].map((shard) => searchShard({ ...base, shard, of: 2 }));
    expect(() => mergeShards([parts[0]!])).toThrow(/missing shard\(s\) 1 of 2/);
    expect(() => mergeShards([parts[0]!, parts[0]!])).toThrow(/given twice/);
    expect(() => mergeShards([parts[0]!, searchShard({ ...base, seed: 8, shard: 1, of: 2 })])).toThrow(/different configuration/);
  });

  it('the random-sequence fit rejects formulas flexible enough to "conserve" anything on tiny data', () => {
    // 2 sequences × 3 steps on circles q² + p² = r²: a formula with a few parameters can be made
    // constant along 3 points of random sequences too; those must be rejected by the 100× test.
    const rng = new Rng(5);
    const values = new Float64Array(2 * 3 * 2);
    for (let k = 0; k < 2; k++)
      for (let t = 0; t < 3; t++) {
        const a = rng.uniform(0, 2 * Math.PI);
        values.set([(0.5 + k) * Math.cos(a), (0.5 + k) * Math.sin(a)], (k * 3 + t) * 2);
      }
    const res = search({ system: 'spring', depth: 6, seed: 0, data: { values, sequences: 2, steps: 3, dim: 2 }, keepRejected: true });
    const byRandom = res.results.filter((r) => r.reason === 'random');
    expect(byRandom.length).toBe(res.counts.rejectedByRandom);
    expect(byRandom.length).toBeGreaterThan(0);
    for (const r of byRandom) expect(r.randomRatio).toBeLessThan(100 * r.trueRatio);
    for (const r of res.ranked) expect(r.randomRatio).toBeGreaterThanOrEqual(100 * r.trueRatio);
  });

  it('explains bad options', () => {
    const data = springData(1, 3, 4);
    expect(() => searchShard({ system: 'spring', depth: 3, shard: 2, of: 2, seed: 0, data })).toThrow(/shard must be an integer in \[0, 2\)/);
    expect(() => searchShard({ system: 'spring', depth: 3, shard: 0, of: 1, seed: 0, data: { ...data, dim: 3 } })).toThrow(/data.values has 24 numbers/);
    expect(() => searchShard({ system: 'spring', depth: 3, shard: 0, of: 1, seed: 0, data, fit: { lr: 1 } as never })).toThrow(/fit.lr is not an option/);
  });
});

describe('rankByTailoring', () => {
  it('orders by score (lower first), diverged last, ties by input order, only topK evaluated', async () => {
    const scores = [0.3, Number.NaN, 0.1, 0.3, 0.05];
    const seen: number[] = [];
    const ranked = await rankByTailoring(['a', 'b', 'c', 'd', 'e'], async (_c, i) => {
      seen.push(i);
      return scores[i]!;
    }, { topK: 4 });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(ranked.map((r) => r.candidate)).toEqual(['c', 'a', 'd', 'b']);
  });
});

describe('distinctLaws', () => {
  it('keeps one spelling of each law: affinely related values on the states are one law', () => {
    // 2-D isotropic oscillator states [x, y, px, py]: energy-like x² + px², and angular momentum.
    // Several trajectories, so each law takes a different value on each.
    const states: number[] = [];
    for (let k = 0; k < 5; k++) {
      const [a, b, phase] = [0.5 + 0.3 * k, 1.2 - 0.2 * k, 0.7 * k];
      for (let i = 0; i < 10; i++) {
        const t = 0.3 * i;
        states.push(a * Math.cos(t), b * Math.sin(t + phase), -a * Math.sin(t), b * Math.cos(t + phase));
      }
    }
    const f = (text: string, params: number[]) => ({ name: text, expr: parseFormula(text, ['x', 'y', 'px', 'py']), params });
    const cands = [
      f('x^2 + px^2', []),
      f('x^2 - c*px^2', [-1]), // the same law, spelled differently
      f('c*(x^2 + px^2) - c', [3, 2]), // an affine image of it
      f('x*py - y*px', []), // another law
      f('x', []),
    ];
    expect(distinctLaws(cands, states, 4).map((c) => c.name)).toEqual(['x^2 + px^2', 'x*py - y*px', 'x']);
  });
});

import { describe, expect, it } from 'vitest';
import { BINARY_OPS, enumerate, formatExpr, Op, parseFormula, PENDULUM, SPRING, type SystemSpec } from '../src/index.js';

/** Independent brute force: every tree up to `maxSize` nodes, units checked recursively,
 * keyed modulo commutativity (operands of + and × sorted by key). Returns the set of keys. */
function bruteForce(system: SystemSpec, maxSize: number): Set<string> {
  type T = { key: string; unit: number[] | null }; // null: free (contains a parameter that fixes it)
  const dimless = (u: number[] | null): boolean => u === null || u.every((x) => x === 0);
  const eq = (a: number[], b: number[]): boolean => a.every((x, i) => x === b[i]);
  const bySize: T[][] = [[], [...system.inputs.map((inp) => ({ key: inp.name, unit: [...inp.unit] })), { key: 'c', unit: null }]];
  for (let s = 2; s <= maxSize; s++) {
    const out: T[] = [];
    for (const a of bySize[s - 1]!) {
      if (dimless(a.unit)) {
        out.push({ key: `sin(${a.key})`, unit: [0, 0, 0] });
        out.push({ key: `cos(${a.key})`, unit: [0, 0, 0] });
      }
      out.push({ key: `sq(${a.key})`, unit: a.unit && a.unit.map((x) => 2 * x) });
    }
    for (let sa = 1; sa <= s - 2; sa++)
      for (const a of bySize[sa]!)
        for (const b of bySize[s - 1 - sa]!) {
          const sorted = [a.key, b.key].sort().join(',');
          const sum = a.unit === null ? b.unit : b.unit === null ? a.unit : eq(a.unit, b.unit) ? a.unit : undefined;
          if (sum !== undefined) {
            out.push({ key: `add(${sorted})`, unit: sum });
            out.push({ key: `sub(${a.key},${b.key})`, unit: sum });
          }
          const free = a.unit === null || b.unit === null;
          out.push({ key: `mul(${sorted})`, unit: free ? null : a.unit!.map((x, i) => x + b.unit![i]!) });
          out.push({ key: `div(${a.key},${b.key})`, unit: free ? null : a.unit!.map((x, i) => x - b.unit![i]!) });
        }
    bySize.push(out);
  }
  return new Set(bySize.flat().map((t) => t.key));
}

/** The same commutativity-blind key for an enumerated candidate. */
function keyOf(E: ReturnType<typeof enumerate>, i: number): string {
  const names = E.inputNames;
  const go = (k: number): string => {
    const a = E.a[k]!;
    const b = E.b[k]!;
    switch (E.op[k]) {
      case Op.Input:
        return names[a]!;
      case Op.Param:
        return 'c';
      case Op.Sin:
        return `sin(${go(a)})`;
      case Op.Cos:
        return `cos(${go(a)})`;
      case Op.Square:
        return `sq(${go(a)})`;
      case Op.Add:
        return `add(${[go(a), go(b)].sort().join(',')})`;
      case Op.Mul:
        return `mul(${[go(a), go(b)].sort().join(',')})`;
      case Op.Sub:
        return `sub(${go(a)},${go(b)})`;
      default:
        return `div(${go(a)},${go(b)})`;
    }
  };
  return go(i);
}

const list = (E: ReturnType<typeof enumerate>, size: number): string[] => {
  const out: string[] = [];
  for (let i = E.sizeStart[size]!; i < E.sizeStart[size + 1]!; i++) out.push(E.format(i));
  return out;
};

describe('enumeration', () => {
  it('depth ≤ 2 by hand: pendulum (q dimensionless, p dimensional)', () => {
    const E = enumerate('pendulum', 2);
    expect(list(E, 1)).toEqual(['q', 'p', 'c']);
    // sin p, cos p are unit-invalid; a bare parameter takes any unit, so sin(c) etc. are valid.
    expect(list(E, 2)).toEqual(['sin(q)', 'cos(q)', 'q^2', 'p^2', 'sin(c)', 'cos(c)', 'c^2']);
    expect(E.count).toBe(10);
    expect(E.stats.map((s) => s.unitInvalid)).toEqual([0, 2]);
  });

  it('depth ≤ 2 by hand: spring (q length, p momentum)', () => {
    const E = enumerate('spring', 2);
    expect(list(E, 2)).toEqual(['q^2', 'p^2', 'sin(c)', 'cos(c)', 'c^2']);
    expect(E.stats.map((s) => s.unitInvalid)).toEqual([0, 4]);
  });

  it('size 3 by hand: 19 + 27 (pendulum), 11 + 27 (spring)', () => {
    // Binary over {q, p, c}: + has 6 canonical pairs minus q+p; − 9 ordered minus q−p, p−q; × 6; ÷ 9.
    // Unary: sin/cos of the 6 dimensionless-or-free size-2 formulas (not p²) + 7 squares = 19;
    // spring: sin/cos only of sin c, cos c, c² (6) + 5 squares = 11.
    const unary = (E: ReturnType<typeof enumerate>): number => {
      let n = 0;
      for (let i = E.sizeStart[3]!; i < E.sizeStart[4]!; i++) if (E.op[i]! <= Op.Square) n++;
      return n;
    };
    const P = enumerate('pendulum', 3);
    expect(P.stats[2]).toMatchObject({ kept: 46, commutativeDuplicates: 6 });
    expect(unary(P)).toBe(19);
    const S = enumerate('spring', 3);
    expect(S.stats[2]).toMatchObject({ kept: 38, commutativeDuplicates: 6 });
    expect(unary(S)).toBe(11);
  });

  it('matches an independent brute force (units + commutativity) up to size 5', () => {
    for (const sys of [PENDULUM, SPRING]) {
      const E = enumerate(sys, 5);
      const keys = new Set<string>();
      for (let i = 0; i < E.count; i++) keys.add(keyOf(E, i));
      expect(keys.size).toBe(E.count); // no two candidates equal up to commutativity
      expect(keys).toEqual(bruteForce(sys, 5));
    }
  });

  it('rejects unit-invalid formulas and keeps valid ones', () => {
    const P = enumerate('pendulum', 7);
    const S = enumerate('spring', 7);
    for (const bad of ['sin(p)', 'q + p', 'p - q^2', 'cos(p^2)', 'q + p^2']) expect(P.find(bad), bad).toBe(-1);
    for (const bad of ['sin(q)', 'q^2 + p^2', 'cos(q/p)', 'q - p']) expect(S.find(bad), bad).toBe(-1);
    // A parameter bridges units: c carries L²/(M·L·T⁻¹)² here.
    const qc = S.find('q^2 + c*p^2');
    expect(qc).toBeGreaterThan(-1);
    expect(S.formatUnit(qc)).toBe('L^2');
    const pc = P.find('p^2 - c*cos(q)');
    expect(pc).toBeGreaterThan(-1);
    expect(P.formatUnit(pc)).toBe('L^4·M^2·T^-2');
    expect(P.find('sin(q^2)')).toBeGreaterThan(-1); // radians are dimensionless
    expect(P.find('sin(p*c)')).toBeGreaterThan(-1); // c·p made dimensionless by c
  });

  it('prunes commutative duplicates: operands of + and × in canonical (index) order', () => {
    const E = enumerate('pendulum', 6);
    const seen = new Set<string>();
    for (let i = 0; i < E.count; i++) {
      const s = E.format(i);
      expect(seen.has(s)).toBe(false);
      seen.add(s);
      if (E.op[i] === Op.Add || E.op[i] === Op.Mul) expect(E.a[i]!).toBeLessThanOrEqual(E.b[i]!);
    }
    expect(E.find('q*p')).toBeGreaterThan(-1);
    expect(E.find('p*q')).toBe(-1);
    expect(E.find('q - p^2/c')).toBeGreaterThan(-1);
    expect(BINARY_OPS.length).toBe(4);
  });

  it('stage counts add up and are stable', () => {
    const P = enumerate('pendulum', 7);
    const S = enumerate('spring', 7);
    for (const E of [P, S]) for (const s of E.stats) expect(s.commutativeDuplicates + s.unitInvalid + s.kept).toBe(s.syntactic);
    expect(P.stats.map((s) => s.kept)).toEqual([3, 7, 46, 223, 1448, 8899, 59867]);
    expect(S.stats.map((s) => s.kept)).toEqual([3, 5, 38, 146, 949, 5001, 31859]);
    expect([P.count, S.count]).toEqual([70493, 38001]);
  });

  it('parses text and finds formulas up to commutativity', () => {
    const E = enumerate('pendulum', 7);
    const target = E.find('p^2 - c*cos(q)');
    expect(E.indexOf(parseFormula('p^2 - cos(q)*c0'))).toBe(target);
    expect(E.indexOf(parseFormula('(p)^2 - (c*cos(q))'))).toBe(target);
    expect(E.indexOf(parseFormula('cos(q)*c - p^2'))).not.toBe(target); // − is not commutative
    expect(E.indexOf(parseFormula('sin(p)'))).toBe(-1); // unit-invalid
    expect(E.indexOf(parseFormula('q + q + q + q'))).toBeGreaterThan(-1); // 7 nodes
    expect(E.indexOf(parseFormula('q + q + q + q + q'))).toBe(-1); // 9 nodes: beyond depth 7
    expect(formatExpr(parseFormula('c0*q + c1/p^2'), { numberParams: true })).toBe('c0*q + c1/p^2');
    expect(() => parseFormula('p^3')).toThrow(/unexpected character/);
    expect(() => parseFormula('x + q')).toThrow(/unknown name 'x'/);
  });

  it('explains bad arguments', () => {
    expect(() => enumerate('pendulum', 0)).toThrow(/depth/);
    expect(() => enumerate('nope', 3)).toThrow(/unknown system 'nope'/);
    expect(() => enumerate({ name: 'x', inputs: [{ name: 'q', unit: [1, 0] }] }, 3)).toThrow(/inputs\[0\].*'q'.*2 exponents; expected 3/);
  });
});

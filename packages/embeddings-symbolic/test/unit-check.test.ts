// Unit checking of written formulas (exprUnit): the search's own rule, so a formula the search
// would build passes and gets the unit the search gives it; what the search refuses is refused,
// naming the sub-formula.
import { describe, expect, it } from 'vitest';
import { FREE_UNIT, PENDULUM, SPRING, enumerate, exprUnit, formulaEmbeddingFactory, parseFormula, parseUnit } from '../src/index.js';

describe('exprUnit', () => {
  it('agrees with the enumeration on every formula it builds (spring and pendulum, up to 5 nodes)', () => {
    for (const system of [SPRING, PENDULUM]) {
      const E = enumerate(system, 5);
      const units = system.inputs.map((i) => i.unit);
      for (let i = 0; i < E.length; i++) {
        const id = exprUnit(E.expr(i), units, E.units);
        expect(id === FREE_UNIT ? '?' : E.units.format(id)).toBe(E.formatUnit(i));
      }
    }
  });

  it('refuses sums of unlike units and sin/cos of a dimensioned argument, naming the part', () => {
    const spring = SPRING.inputs.map((i) => i.unit);
    const names = SPRING.inputs.map((i) => i.name);
    const check = (f: string) => () => exprUnit(parseFormula(f, names), spring, undefined, names);
    const [q, p] = names;
    expect(check(`${q} + ${p}`)).toThrow(new RegExp(`adds ${p} \\(.*\\) to ${q} \\(.*\\); \\+ and − need equal units`));
    expect(check(`sin(${q})`)).toThrow(/sin\(.*\) takes an argument in L; sin needs a dimensionless one/);
    // Parameters take the unit that makes it valid.
    expect(check(`c*${q}^2 + ${p}^2`)).not.toThrow();
    expect(check(`sin(c*${q})`)).not.toThrow();
    expect(check(`c + ${q}`)).not.toThrow();
  });
});

describe("the 'formula' embedding with units", () => {
  const create = (o: object) => formulaEmbeddingFactory.create(o as never);
  it('checks the formula against the inputs’ units, naming the option', () => {
    const base = { inputs: ['q', 'p'], units: ['1', 'M*L^2/T'] };
    expect(() => create({ ...base, formula: 'p^2 - c*cos(q)' })).not.toThrow();
    expect(() => create({ ...base, formula: 'p + q' })).toThrow(/^embedding\.formula: 'p \+ q' is not unit-consistent with embedding\.units: p \+ q adds q \(1\) to p \(L\^2·M·T\^-1\)/);
    expect(() => create({ ...base, formula: 'p', units: ['1'] })).toThrow(/embedding\.units: 1 unit\(s\) for 2 inputs \(q, p\)/);
    expect(() => create({ ...base, formula: 'p', units: ['1', 'kg'] })).toThrow(/embedding\.units\[1\] \(p\): cannot read 'kg' in unit 'kg'; use products of L, M, T/);
    // Without units, nothing is checked (as before).
    expect(() => create({ inputs: ['q', 'p'], formula: 'p + q' })).not.toThrow();
  });

  it('parseUnit reads products and powers over the base dimensions', () => {
    expect(parseUnit('M*L^2/T')).toEqual([2, 1, -1]);
    expect(parseUnit('L*T^-2')).toEqual([1, 0, -2]);
    expect(parseUnit(' 1 ')).toEqual([0, 0, 0]);
    expect(() => parseUnit('')).toThrow(/empty unit/);
  });
});

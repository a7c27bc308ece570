// parseFormula's errors point at the column, and inputs it could never reach are refused; the formula
// embedding refuses init values that make it Inf/NaN from the start.
import { describe, expect, it } from 'vitest';
import { parseFormula, formulaEmbeddingFactory, MAX_FORMULA_HEIGHT } from '../src/index.js';

describe('parseFormula errors', () => {
  it('names the column of a bad character, also mid-text', () => {
    expect(() => parseFormula('p $ q')).toThrow(/column 3: unexpected character '\$'/);
    expect(() => parseFormula('p^3 + q')).toThrow(/column 2: unexpected character '\^'/);
    expect(() => parseFormula('q + x')).toThrow(/column 5 \('x'\): unknown name 'x'/);
    expect(() => parseFormula('  ')).toThrow(/is empty/);
  });

  it('refuses parameter numbers that disagree with left-to-right numbering instead of rebinding them', () => {
    expect(() => parseFormula('c1*q + c0*p')).toThrow(/column 1 \('c1'\).*write c0, or plain c/);
    expect(() => parseFormula('c0*q + c0*p')).toThrow(/column 8 \('c0'\).*write c1/);
    expect(parseFormula('c0*q + c*p')).toEqual(parseFormula('c*q + c1*p'));
  });

  it('refuses input names it could never read', () => {
    expect(() => parseFormula('q', ['q', 'q'])).toThrow(/inputs\[1\] = 'q' repeats inputs\[0\]/);
    expect(() => parseFormula('q', ['q', 'c'])).toThrow(/inputs\[1\] = 'c' is how parameters are written/);
    expect(() => parseFormula('q', ['sin', 'q'])).toThrow(/inputs\[0\] = 'sin' is a function/);
  });

  it('refuses formulas nested too deeply with a message, not a stack overflow', () => {
    const n = MAX_FORMULA_HEIGHT + 1;
    expect(() => parseFormula('('.repeat(5000) + 'q' + ')'.repeat(5000))).toThrow(/nested more than/);
    expect(() => parseFormula(new Array(n + 1).fill('q').join('+'))).toThrow(/nested more than/);
    expect(() => parseFormula('sin('.repeat(n) + 'q' + ')'.repeat(n))).toThrow(/nested more than/);
  });
});

describe('formula embedding init', () => {
  const create = (o: object) => formulaEmbeddingFactory.create(o as never);
  it('refuses a division by zero at the initial values, naming the divisor', () => {
    expect(() => create({ formula: 'q / (c - c) + p' })).toThrow(/embedding\.init: the formula divides by c0 - c1.*= 0/);
    expect(() => create({ formula: 'q / c^2', init: [0] })).toThrow(/divides by c0\^2/);
    expect(create({ formula: 'q / (c - c)', init: [1, 2] }).name).toBe('formula');
  });
  it('refuses init values that overflow float32', () => {
    expect(() => create({ formula: 'c*q', init: [1e40] })).toThrow(/embedding\.init: parameter values\[0\] = 1e\+40 is not a finite float32/);
  });
});

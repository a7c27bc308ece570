import { describe, it, expect } from 'vitest';
import { parseConfig, parseConfigText, ConfigError, setPath } from '../src/index.js';

const base = { predictor: { type: 'mlp', hidden: 8 }, dataset: { type: 'spring' } };

describe('experiment config', () => {
  it('fills defaults and keeps plugin options', () => {
    const c = parseConfig(base);
    expect(c.inner).toEqual({ optimizer: 'sgd', steps: 1, lr: 1e-3, firstOrder: false });
    expect(c.noether.form).toBe('2a');
    expect(c.predictor).toEqual({ type: 'mlp', hidden: 8 });
  });
  it('names the path of a bad field and what was expected', () => {
    expect(() => parseConfig({ ...base, outer: { lrPhi: 'fast' } }, 'exp.yaml')).toThrow(/invalid exp\.yaml: outer\.lrPhi: .*expected number/);
    expect(() => parseConfig({ ...base, inner: { steps: -1 } })).toThrow(/inner\.steps/);
    expect(() => parseConfig({ ...base, noether: { form: '2c' } })).toThrow(/noether\.form/);
    expect(() => parseConfig({ dataset: { type: 'x' } })).toThrow(/predictor/);
  });
  it('testInner overrides only the fields it gives; the others stay the training inner loop\'s', () => {
    const c = parseConfig({ ...base, inner: { optimizer: 'nsgd', steps: 1, lr: 0.3 }, testInner: { steps: 5 } });
    expect(c.testInner).toEqual({ steps: 5 });
    expect(() => parseConfig({ ...base, testInner: { steps: -1 } })).toThrow(/testInner\.steps/);
  });
  it("refuses first-order tailoring where φ is to be learned (its meta-gradient would be exactly 0)", () => {
    expect(() => parseConfig({ ...base, inner: { firstOrder: true } })).toThrow(/inner\.firstOrder: first-order tailoring leaves φ a meta-gradient of exactly 0/);
    for (const ok of [{ mode: 'oracle' }, { mode: 'baseline' }, { outer: { lrPhi: 0 } }]) {
      expect(parseConfig({ ...base, ...ok, inner: { firstOrder: true } }).inner.firstOrder).toBe(true);
    }
  });
  it('rejects unknown fields by name', () => {
    try {
      parseConfig({ ...base, outer: { lr_phi: 1 } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues[0]!.path).toBe('outer');
      expect((e as Error).message).toMatch(/unknown field\(s\) 'lr_phi'/);
    }
  });
  it('reads JSON and YAML', () => {
    const y = parseConfigText('predictor:\n  type: mlp\ndataset:\n  type: spring\nouter:\n  lrPhi: 0.01\n', 'c.yaml');
    expect(parseConfig(y).outer.lrPhi).toBe(0.01);
    expect(parseConfig(parseConfigText(JSON.stringify(base), 'c.json')).predictor.type).toBe('mlp');
    expect(() => parseConfigText('{ bad json', 'c.json')).toThrow(/cannot parse c\.json as JSON/);
  });
  it('sets dotted paths for flag overrides', () => {
    const o: Record<string, unknown> = { ...base };
    setPath(o, 'outer.lrPhi', '0.5');
    setPath(o, 'name', 'run1');
    const c = parseConfig(o);
    expect(c.outer.lrPhi).toBe(0.5);
    expect(c.name).toBe('run1');
  });
});

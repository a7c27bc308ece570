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
  it('an unknown field gets the closest real name and the fields that exist there', () => {
    expect(() => parseConfig({ ...base, outer: { epoch: 1 } })).toThrow(/outer: unknown field\(s\) 'epoch' \(did you mean 'epochs'\?\).*\(fields here: epochs, batchSize, /);
    expect(() => parseConfig({ ...base, seeed: 1 })).toThrow(/\(root\): unknown field\(s\) 'seeed' \(did you mean 'seed'\?\)/);
    // nothing close: no guess
    expect(() => parseConfig({ ...base, inner: { banana: 1 } })).toThrow(/unknown field\(s\) 'banana': remove or fix the spelling \(fields here: optimizer, steps, lr, firstOrder\)/);
  });
  it('a syntax error is one line with its line and column (YAML and JSON)', () => {
    for (const [text, src, at] of [
      ['name: t\npredictor: { type: mlp\ndataset: { type: x }\n', 'c.yaml', /line 3, column 1/],
      ['{"name": "t",\n "seed": 1\n "mode": "noether"}', 'c.json', /line 3,? column 2/],
    ] as const) {
      try {
        parseConfigText(text, src);
        expect.unreachable();
      } catch (e) {
        expect((e as Error).message).toMatch(at);
        expect((e as Error).message).not.toContain('\n');
      }
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
  it('sets an element of a list, and refuses paths that name no field', () => {
    const o: Record<string, unknown> = { ...base, eval: { metrics: ['mse', 'psnr'] } };
    setPath(o, 'eval.metrics.1', 'ssim');
    setPath(o, 'eval.metrics.2', '{"type":"ssim","winSize":7}');
    expect(parseConfig(o).eval.metrics).toEqual(['mse', 'ssim', { type: 'ssim', winSize: 7 }]);
    expect(() => setPath(o, 'eval.metrics.5', 'mse')).toThrow(/eval\.metrics is a list of 3; index it by position/);
    expect(() => setPath(o, 'eval.metrics.x', 'mse')).toThrow(/eval\.metrics is a list of 3/);
    setPath(o, 'seed', '2');
    expect(() => setPath(o, 'seed.x', '1')).toThrow(/'seed\.x': seed is 2, which has no fields: set seed itself/);
    expect(() => setPath(o, 'outer..epochs', '1')).toThrow(/'outer\.\.epochs' is not a field path/);
    expect(() => setPath(o, '__proto__.polluted', '1')).toThrow(/is not a field path/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

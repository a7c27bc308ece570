// Every built-in experiment's presets (quick and full) are valid configs whose predictor and
// embedding options their plugins accept, and whose tailoring mode the predictor supports: a preset
// edit that breaks one fails here, not minutes into a run (or only on a GPU, for the full ones).
import { describe, expect, it } from 'vitest';
import { TOKENS, findFactory, parseConfig, type Embedding, type Predictor } from '@noether/core';
import { experiments } from '../src/experiments/index.js';
import { parseGymPixelsOptions } from '../src/experiments/gym-pendulum.js';
import { allPlugins } from '../src/commands/run-shared.js';
import { cliContainer } from '../src/run/container.js';

describe('built-in presets', () => {
  const c = cliContainer(...allPlugins());
  for (const [name, e] of Object.entries(experiments)) {
    for (const preset of ['quickConfig', 'fullConfig'] as const) {
      it(`${name} ${preset}`, () => {
        const cfg = parseConfig(e[preset], `${name} ${preset}`);
        const { type, ...opts } = cfg.predictor;
        const p = findFactory<Predictor>(c, TOKENS.PredictorFactory, type, 'predictor').create(opts);
        expect(p.tailorModes).toContain(cfg.noether.tailor ?? p.tailor);
        if (cfg.embedding) {
          const { type: et, ...eo } = cfg.embedding;
          const g = findFactory<Embedding>(c, TOKENS.EmbeddingFactory, et, 'embedding').create(eo);
          expect(g.name).toBe(et);
        }
      });
    }
  }
});

describe('gym-pendulum-pixels dataset options', () => {
  it('accepts view > 1.1 for simulated episodes only, naming the field and the fix otherwise', () => {
    expect(parseGymPixelsOptions({ view: 1.2 })).toEqual({ view: 1.2 });
    expect(() => parseGymPixelsOptions({ view: 1 })).toThrow(/view must be a number > 1\.1.*got 1/);
    expect(() => parseGymPixelsOptions({ view: '1.2' })).toThrow(/view must be a number > 1\.1/);
    expect(() => parseGymPixelsOptions({ dir: '/data/gym', view: 1.2 })).toThrow(/view applies to simulated episodes.*regenerate with noether generate gym-pendulum --view/);
  });

  it('accepts mirror as a boolean and names the field and the fix otherwise', () => {
    expect(parseGymPixelsOptions({ size: 32, mirror: true })).toEqual({ size: 32, mirror: true });
    expect(() => parseGymPixelsOptions({ mirror: 'yes' })).toThrow(/mirror must be true or false, got "yes"/);
    expect(() => parseGymPixelsOptions({ mirrored: true })).toThrow(/unknown option 'mirrored' \(valid: .*mirror, view\)/);
    expect(() => parseGymPixelsOptions({ size: 0 })).toThrow(/size must be an integer ≥ 1, got 0/);
  });
});

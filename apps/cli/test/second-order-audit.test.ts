// The second-order audit over every model the project ships: each package that exports
// auditCases() is found automatically (new packages and models join by exporting it);
// every kernel a meta-step of theirs dispatches must have a second-order gradient that
// core's tests check, and every Predictor/Embedding factory a package registers must be
// covered by one of its cases.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auditSecondOrder, createContainer, examples, listFactories, selectBackend, tf, TOKENS, type AuditCase, type Plugin } from '@noether/core';

const root = new URL('../../../', import.meta.url).pathname;
const packages = readdirSync(`${root}packages`).filter((p) => p !== 'core');

interface Entry { pkg: string; cases: AuditCase[]; register?: Plugin }
const entries: Entry[] = [{ pkg: 'core', cases: examples.auditCases(), register: examples.oscillatorPlugin }];
for (const pkg of packages) {
  const m = (await import(`@noether/${pkg}`)) as { auditCases?: () => AuditCase[]; register?: Plugin };
  entries.push({ pkg, cases: m.auditCases?.() ?? [], register: m.register });
}

describe('second-order audit of every shipped model', () => {
  it('finds the model packages', () => {
    const withCases = entries.filter((e) => e.cases.length).map((e) => e.pkg);
    for (const p of ['core', 'predictors-mlp', 'predictors-svg', 'embeddings-cnn', 'embeddings-symbolic']) expect(withCases).toContain(p);
  });

  for (const e of entries) {
    it(`${e.pkg}: every registered predictor and embedding type has an audit case`, () => {
      if (!e.register) return;
      const c = createContainer(e.register);
      const types = [...listFactories(c, TOKENS.PredictorFactory), ...listFactories(c, TOKENS.EmbeddingFactory)].map((f) => f.type);
      const missing = types.filter((t) => !e.cases.some((k) => k.name.startsWith(`${e.pkg}/`) && k.name.split('/').slice(1).join('/').split(/[/+]/).includes(t)));
      expect(missing, `add auditCases() entries named ${e.pkg}/<type>/... for these`).toEqual([]);
    });
    for (const k of e.cases) {
      it(`${k.name}: every kernel of a meta-step has a checked second-order gradient`, () => {
        const before = tf.memory().numTensors;
        const { kernels, unchecked } = auditSecondOrder(() => k.run());
        console.log(`[audit] ${k.name}: ${kernels.length} kernels: ${kernels.join(' ')}`);
        expect(kernels.length).toBeGreaterThan(3);
        expect(unchecked, `kernels without a checked second-order gradient in ${k.name}`).toEqual([]);
        expect(tf.memory().numTensors).toBe(before);
      });
      // Every kernel a model needs to train must exist on wasm (the fast CPU backend).
      it(`${k.name}: a meta-step runs on wasm`, async () => {
        await selectBackend({ backend: 'wasm', quiet: true });
        try {
          k.run();
        } finally {
          await selectBackend({ backend: 'cpu', quiet: true });
        }
      });
    }
  }
});

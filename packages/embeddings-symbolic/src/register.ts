// DI registration: a formula of the DSL as a Noether embedding, so a config can meta-learn the
// parameters of a law you write: `embedding: { type: 'formula', formula: 'p^2 - c*cos(q)' }`.
import { TOKENS, validate, type DependencyContainer, type EmbeddingFactory } from '@noether/core';
import { z } from 'zod';
import { parseFormula } from './parse.js';
import { compile } from './program.js';
import { symbolicEmbedding } from './tf-embedding.js';

export const FormulaEmbeddingOptionsSchema = z.strictObject({
  type: z.string().optional(),
  formula: z.string({ error: "formula must be a formula over the inputs, e.g. 'p^2 - c*cos(q)' (see parseFormula)" }).min(1),
  /** Names of the state's columns, in order. */
  inputs: z.array(z.string().min(1)).min(1).default(['q', 'p']),
  /** Initial values of the parameters c0, c1, … (default 1 each). */
  init: z.array(z.number()).optional(),
});

export const formulaEmbeddingFactory: EmbeddingFactory = {
  type: 'formula',
  description: "a DSL formula over the state's columns with learned parameters (options: formula, inputs, init)",
  create: (options) => {
    const o = validate(FormulaEmbeddingOptionsSchema, options, "embedding 'formula' options", 'embedding');
    let expr;
    try {
      expr = parseFormula(o.formula, o.inputs);
    } catch (e) {
      throw new Error(`embedding.formula: ${(e as Error).message}`);
    }
    const n = compile(expr).nParams;
    if (o.init && o.init.length !== n) throw new Error(`embedding.init: the formula has ${n} parameter(s), init gives ${o.init.length}`);
    return symbolicEmbedding(expr, o.init ?? new Array<number>(n).fill(1), { name: 'formula' });
  },
};

export function register(c: DependencyContainer): void {
  c.register(TOKENS.EmbeddingFactory, { useValue: formulaEmbeddingFactory });
}

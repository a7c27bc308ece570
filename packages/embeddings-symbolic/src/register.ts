// DI registration: a formula of the DSL as a Noether embedding, so a config can meta-learn the
// parameters of a law you write: `embedding: { type: 'formula', formula: 'p^2 - c*cos(q)' }`.
import { TOKENS, validate, type DependencyContainer, type EmbeddingFactory } from '@noether/core';
import { z } from 'zod';
import { parseFormula } from './parse.js';
import { formatExpr, type Expr } from './dsl.js';
import { compile, evaluateColumns } from './program.js';
import { symbolicEmbedding } from './tf-embedding.js';
import { parseUnit } from './units.js';
import { exprUnit } from './unit-check.js';

export const FormulaEmbeddingOptionsSchema = z.strictObject({
  type: z.string().optional(),
  formula: z.string({ error: "formula must be a formula over the inputs, e.g. 'p^2 - c*cos(q)' (see parseFormula)" }).min(1),
  /** Names of the state's columns, in order. */
  inputs: z.array(z.string().min(1)).min(1).default(['q', 'p']),
  /** Initial values of the parameters c0, c1, … (default 1 each). */
  init: z.array(z.number()).optional(),
  /** Units of the inputs, in order (e.g. ['1', 'M*L^2/T']): the formula is then unit-checked as
   * the search checks its own (parameters take whatever unit makes it valid). */
  units: z.array(z.string()).optional(),
});

export const formulaEmbeddingFactory: EmbeddingFactory = {
  type: 'formula',
  description: "a DSL formula over the state's columns with learned parameters (options: formula, inputs, init, units)",
  create: (options) => {
    const o = validate(FormulaEmbeddingOptionsSchema, options, "embedding 'formula' options", 'embedding');
    let expr;
    try {
      expr = parseFormula(o.formula, o.inputs);
    } catch (e) {
      throw new Error(`embedding.formula: ${(e as Error).message}`);
    }
    if (o.units) {
      if (o.units.length !== o.inputs.length) throw new Error(`embedding.units: ${o.units.length} unit(s) for ${o.inputs.length} inputs (${o.inputs.join(', ')}); give one per input, in order`);
      const units = o.units.map((u, k) => parseUnit(u, `embedding.units[${k}] (${o.inputs[k]})`));
      try {
        exprUnit(expr, units, undefined, o.inputs);
      } catch (e) {
        throw new Error(`embedding.formula: '${o.formula}' is not unit-consistent with embedding.units: ${(e as Error).message}`);
      }
    }
    const n = compile(expr).nParams;
    if (o.init && o.init.length !== n) throw new Error(`embedding.init: the formula has ${n} parameter(s), init gives ${o.init.length}`);
    const init = o.init ?? new Array<number>(n).fill(1);
    const zero = zeroDivisor(expr, init);
    if (zero) {
      const at = formatExpr(zero, { inputNames: o.inputs, numberParams: true });
      throw new Error(
        `embedding.init: the formula divides by ${at}, which is ${formatExpr(zero, { inputNames: o.inputs, params: init })} = 0 at the initial ` +
          `parameter values ${o.init ? `[${init.join(', ')}]` : '(all 1 by default)'}, so the embedding starts as Inf/NaN; give init values that make it non-zero`,
      );
    }
    try {
      return symbolicEmbedding(expr, init, { name: 'formula' });
    } catch (e) {
      throw new Error(`embedding.init: ${(e as Error).message}`);
    }
  },
};

/** The first divisor that reads no input and is 0 at `params` (a data-independent division by zero), if any. */
function zeroDivisor(e: Expr, params: readonly number[]): Expr | undefined {
  switch (e.op) {
    case 'input':
    case 'param':
      return undefined;
    case 'sin':
    case 'cos':
    case 'square':
      return zeroDivisor(e.arg, params);
    default: {
      const inner = zeroDivisor(e.left, params) ?? zeroDivisor(e.right, params);
      if (inner || e.op !== '/') return inner;
      const prog = compile(e.right);
      return prog.nInputs === 0 && evaluateColumns(prog, params, [])[0] === 0 ? e.right : undefined;
    }
  }
}

export function register(c: DependencyContainer): void {
  c.register(TOKENS.EmbeddingFactory, { useValue: formulaEmbeddingFactory });
}

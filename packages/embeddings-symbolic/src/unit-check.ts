// Units of a written formula, by the search's own rule (enumerate.ts): a parameter takes whatever
// unit makes the formula valid (free), + and − need equal units (a free side adopts the other's),
// × and ÷ add exponents (free absorbs), and sin/cos need a dimensionless (or free) argument.
// The search only builds formulas that pass; a formula written by hand is checked here.
import { formatExpr, type Expr } from './dsl.js';
import { DIMENSIONLESS, FREE_UNIT, UnitTable, type Unit } from './units.js';

/** The unit id of `e` in `table` (FREE_UNIT where parameters leave it open), given the units of
 * its inputs; throws naming the first sub-formula that breaks a rule. */
export function exprUnit(e: Expr, inputUnits: readonly Unit[], table: UnitTable = new UnitTable(), inputNames?: readonly string[]): number {
  const ids = inputUnits.map((u) => table.intern(u));
  const show = (x: Expr) => formatExpr(x, { inputNames });
  const unitOf = (x: Expr): number => {
    switch (x.op) {
      case 'input': {
        const id = ids[x.index];
        if (id === undefined) throw new Error(`input ${x.index} has no unit (${ids.length} given)`);
        return id;
      }
      case 'param':
        return FREE_UNIT;
      case 'square': {
        const a = unitOf(x.arg);
        return table.combine(a, a, 1);
      }
      case 'sin':
      case 'cos': {
        const a = unitOf(x.arg);
        if (a !== FREE_UNIT && a !== DIMENSIONLESS) {
          throw new Error(`${x.op}(${show(x.arg)}) takes an argument in ${table.format(a)}; ${x.op} needs a dimensionless one (scale it by a parameter: ${x.op}(c*…))`);
        }
        return DIMENSIONLESS;
      }
      case '*':
      case '/':
        return table.combine(unitOf(x.left), unitOf(x.right), x.op === '*' ? 1 : -1);
      case '+':
      case '-': {
        const [a, b] = [unitOf(x.left), unitOf(x.right)];
        if (a === FREE_UNIT) return b;
        if (b === FREE_UNIT || a === b) return a;
        throw new Error(`${show(x)} ${x.op === '+' ? 'adds' : 'subtracts'} ${show(x.right)} (${table.format(b)}) ${x.op === '+' ? 'to' : 'from'} ${show(x.left)} (${table.format(a)}); + and − need equal units`);
      }
    }
  };
  return unitOf(e);
}

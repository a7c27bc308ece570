// The DSL: Input(i), Parameter (a trainable scalar whose unit is whatever makes the formula
// valid), unary {sin, cos, square} and binary {+, −, ×, ÷}. Formulas are plain JSON trees
// (Expr), so they travel between worker threads and into result files unchanged.
import type { Unit } from './units.js';

/** Operation codes as stored in an Enumeration (numbers, for compact typed arrays). */
export const Op = { Input: 0, Param: 1, Sin: 2, Cos: 3, Square: 4, Add: 5, Sub: 6, Mul: 7, Div: 8 } as const;
export type Op = (typeof Op)[keyof typeof Op];

export const UNARY_OPS = [Op.Sin, Op.Cos, Op.Square] as const;
export const BINARY_OPS = [Op.Add, Op.Sub, Op.Mul, Op.Div] as const;
export const OP_NAMES = ['input', 'param', 'sin', 'cos', 'square', '+', '-', '*', '/'] as const;
export type OpName = (typeof OP_NAMES)[number];

export type Expr =
  | { op: 'input'; index: number }
  /** `index` numbers the parameters of one formula left to right (0, 1, ...). */
  | { op: 'param'; index: number }
  | { op: 'sin' | 'cos' | 'square'; arg: Expr }
  | { op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

export interface InputSpec {
  name: string;
  unit: Unit;
}

/** A physical system as the search sees it: named, unit-carrying inputs (columns of a state). */
export interface SystemSpec {
  name: string;
  inputs: readonly InputSpec[];
  /** Base dimension names the units refer to (default L, M, T). */
  baseDimensions?: readonly string[];
}

/** Pendulum (HNN): q an angle (dimensionless), p angular momentum M·L²·T⁻¹. */
export const PENDULUM: SystemSpec = {
  name: 'pendulum',
  inputs: [
    { name: 'q', unit: [0, 0, 0] },
    { name: 'p', unit: [2, 1, -1] },
  ],
};

/** Mass-spring (HNN): q a length, p a linear momentum M·L·T⁻¹. */
export const SPRING: SystemSpec = {
  name: 'spring',
  inputs: [
    { name: 'q', unit: [1, 0, 0] },
    { name: 'p', unit: [1, 1, -1] },
  ],
};

/** Real pendulum (Schmidt & Lipson): q an angle, p an angular velocity T⁻¹. */
export const REAL_PENDULUM: SystemSpec = {
  name: 'real-pendulum',
  inputs: [
    { name: 'q', unit: [0, 0, 0] },
    { name: 'p', unit: [0, 0, -1] },
  ],
};

export const SYSTEMS: Readonly<Record<string, SystemSpec>> = {
  pendulum: PENDULUM,
  spring: SPRING,
  'real-pendulum': REAL_PENDULUM,
};

/** A system by name, or the spec itself. */
export function resolveSystem(system: string | SystemSpec): SystemSpec {
  if (typeof system !== 'string') return system;
  const s = SYSTEMS[system];
  if (!s) throw new Error(`unknown system '${system}'; known: ${Object.keys(SYSTEMS).join(', ')} (or pass a SystemSpec)`);
  return s;
}

/** Number of nodes of a formula: the quantity the search calls depth (see README). */
export function exprSize(e: Expr): number {
  switch (e.op) {
    case 'input':
    case 'param':
      return 1;
    case 'sin':
    case 'cos':
    case 'square':
      return 1 + exprSize(e.arg);
    default:
      return 1 + exprSize(e.left) + exprSize(e.right);
  }
}

/** Tree height (a leaf has height 1), for reference. */
export function exprHeight(e: Expr): number {
  switch (e.op) {
    case 'input':
    case 'param':
      return 1;
    case 'sin':
    case 'cos':
    case 'square':
      return 1 + exprHeight(e.arg);
    default:
      return 1 + Math.max(exprHeight(e.left), exprHeight(e.right));
  }
}

export function exprParamCount(e: Expr): number {
  switch (e.op) {
    case 'input':
      return 0;
    case 'param':
      return 1;
    case 'sin':
    case 'cos':
    case 'square':
      return exprParamCount(e.arg);
    default:
      return exprParamCount(e.left) + exprParamCount(e.right);
  }
}

const PREC: Record<string, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  const s = Number(v.toPrecision(digits)).toString();
  return v < 0 ? `(${s})` : s;
}

export interface FormatOptions {
  /** Input names (default q, p, x2, ...). */
  inputNames?: readonly string[];
  /** Parameter values; without them parameters print as `c` (or c0, c1... with numberParams). */
  params?: ArrayLike<number>;
  /** Significant digits of printed parameter values (default 4). */
  digits?: number;
  /** Print parameters without values as c0, c1, ... instead of c. */
  numberParams?: boolean;
}

/** Readable infix, e.g. `p^2 - 2.99*cos(q)`. Parentheses only where precedence needs them. */
export function formatExpr(e: Expr, opts: FormatOptions = {}): string {
  const names = opts.inputNames ?? ['q', 'p'];
  const digits = opts.digits ?? 4;
  const go = (x: Expr): { s: string; prec: number } => {
    switch (x.op) {
      case 'input':
        return { s: names[x.index] ?? `x${x.index}`, prec: 9 };
      case 'param': {
        if (opts.params) {
          const v = opts.params[x.index];
          if (v === undefined) throw new Error(`formatExpr: no value for parameter ${x.index}`);
          return { s: formatNumber(v, digits), prec: 9 };
        }
        return { s: opts.numberParams ? `c${x.index}` : 'c', prec: 9 };
      }
      case 'sin':
      case 'cos':
        return { s: `${x.op}(${go(x.arg).s})`, prec: 9 };
      case 'square': {
        const a = go(x.arg);
        return { s: a.prec >= 9 ? `${a.s}^2` : `(${a.s})^2`, prec: 8 };
      }
      default: {
        const p = PREC[x.op]!;
        const l = go(x.left);
        const r = go(x.right);
        const ls = l.prec < p ? `(${l.s})` : l.s;
        // A right operand of equal precedence keeps its parentheses: needed for − and ÷, and for
        // + and × it keeps printing one-to-one (a + (b + c) and (a + b) + c are different formulas).
        const rs = r.prec <= p ? `(${r.s})` : r.s;
        const sep = p === 1 ? ` ${x.op} ` : x.op;
        return { s: `${ls}${sep}${rs}`, prec: p };
      }
    }
  };
  return go(e).s;
}

// A formula compiled to a postfix program over slots, for fast batched Float64 evaluation.
// Slot k holds the value of the k-th node in post-order; operands always come earlier.
import { type Expr, Op } from './dsl.js';

export interface Program {
  /** Number of slots (= formula size); the result is the last slot. */
  readonly n: number;
  readonly op: Uint8Array;
  /** Input column / parameter index for leaves, first operand slot otherwise. */
  readonly a: Int16Array;
  /** Second operand slot of binary operations (-1 otherwise). */
  readonly b: Int16Array;
  readonly nParams: number;
  /** Highest input index read + 1 (0 for constants). */
  readonly nInputs: number;
  /** 1 where the slot depends on a parameter (must be recomputed while fitting). */
  readonly dynamic: Uint8Array;
}

const CODES: Record<Expr['op'], number> = {
  input: Op.Input,
  param: Op.Param,
  sin: Op.Sin,
  cos: Op.Cos,
  square: Op.Square,
  '+': Op.Add,
  '-': Op.Sub,
  '*': Op.Mul,
  '/': Op.Div,
};

export function compile(expr: Expr): Program {
  const op: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  const dyn: number[] = [];
  let nParams = 0;
  let nInputs = 0;
  const go = (e: Expr): number => {
    let ca = -1;
    let cb = -1;
    let d = 0;
    switch (e.op) {
      case 'input':
        if (!Number.isInteger(e.index) || e.index < 0) throw new Error(`formula: input index must be a non-negative integer, got ${e.index}`);
        ca = e.index;
        nInputs = Math.max(nInputs, e.index + 1);
        break;
      case 'param':
        if (!Number.isInteger(e.index) || e.index < 0) throw new Error(`formula: parameter index must be a non-negative integer, got ${e.index}`);
        ca = e.index;
        nParams = Math.max(nParams, e.index + 1);
        d = 1;
        break;
      case 'sin':
      case 'cos':
      case 'square':
        ca = go(e.arg);
        d = dyn[ca]!;
        break;
      case '+':
      case '-':
      case '*':
      case '/':
        ca = go(e.left);
        cb = go(e.right);
        d = dyn[ca]! | dyn[cb]!;
        break;
      default:
        throw new Error(`formula: unknown op '${(e as { op: string }).op}'`);
    }
    op.push(CODES[e.op]);
    a.push(ca);
    b.push(cb);
    dyn.push(d);
    return op.length - 1;
  };
  go(expr);
  if (op.length > 32767) throw new Error('formula too large to compile');
  return {
    n: op.length,
    op: Uint8Array.from(op),
    a: Int16Array.from(a),
    b: Int16Array.from(b),
    nParams,
    nInputs,
    dynamic: Uint8Array.from(dyn),
  };
}

/** Splits row-major states [N, D] into D columns. */
export function columns(states: ArrayLike<number>, n: number, d: number): Float64Array[] {
  if (states.length !== n * d) throw new Error(`states has ${states.length} values; expected ${n}×${d} = ${n * d}`);
  const cols = Array.from({ length: d }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) cols[k]![i] = states[i * d + k]!;
  return cols;
}

/** Values of `prog` at every state, given as columns (one Float64Array per input). */
export function evaluateColumns(prog: Program, params: ArrayLike<number>, cols: readonly Float64Array[]): Float64Array {
  if (params.length < prog.nParams) throw new Error(`formula has ${prog.nParams} parameters; got ${params.length} values`);
  if (cols.length < prog.nInputs) throw new Error(`formula reads ${prog.nInputs} inputs; states have ${cols.length} columns`);
  const n = cols.length ? cols[0]!.length : 1;
  const vals: Float64Array[] = new Array(prog.n);
  for (let s = 0; s < prog.n; s++) {
    const o = prog.op[s]!;
    if (o === Op.Input) {
      vals[s] = cols[prog.a[s]!]!;
      continue;
    }
    const v = new Float64Array(n);
    const x = o === Op.Param ? undefined : vals[prog.a[s]!]!;
    const y = prog.b[s]! >= 0 ? vals[prog.b[s]!]! : undefined;
    switch (o) {
      case Op.Param:
        v.fill(params[prog.a[s]!]!);
        break;
      case Op.Sin:
        for (let i = 0; i < n; i++) v[i] = Math.sin(x![i]!);
        break;
      case Op.Cos:
        for (let i = 0; i < n; i++) v[i] = Math.cos(x![i]!);
        break;
      case Op.Square:
        for (let i = 0; i < n; i++) v[i] = x![i]! * x![i]!;
        break;
      case Op.Add:
        for (let i = 0; i < n; i++) v[i] = x![i]! + y![i]!;
        break;
      case Op.Sub:
        for (let i = 0; i < n; i++) v[i] = x![i]! - y![i]!;
        break;
      case Op.Mul:
        for (let i = 0; i < n; i++) v[i] = x![i]! * y![i]!;
        break;
      case Op.Div:
        for (let i = 0; i < n; i++) v[i] = x![i]! / y![i]!;
        break;
    }
    vals[s] = v;
  }
  const out = vals[prog.n - 1]!;
  // An input-only formula returns the column itself: copy so callers may write to it.
  return prog.op[prog.n - 1] === Op.Input ? Float64Array.from(out) : out;
}

/** Values of `expr` at states [N, D] (row-major). */
export function evaluate(expr: Expr | Program, params: ArrayLike<number>, states: ArrayLike<number>, dim: number): Float64Array {
  const prog = 'n' in expr ? expr : compile(expr);
  const n = states.length / dim;
  if (!Number.isInteger(n)) throw new Error(`states length ${states.length} is not a multiple of dim ${dim}`);
  return evaluateColumns(prog, params, columns(states, n, dim));
}

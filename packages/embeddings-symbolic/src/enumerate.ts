// Bottom-up enumeration of every unit-valid formula with at most `maxSize` nodes, with
// commutative duplicates pruned. Formulas are stored as a DAG in flat typed arrays: candidate i
// is (op[i], a[i], b[i]) whose operands are earlier candidates, so memory is ~20 bytes per
// formula and sub-formulas are shared. Candidates are ordered by size, then by generation order;
// that order is the canonical order used for commutative operands (a + b and a·b are kept only
// with index(a) ≤ index(b)), and the candidate index is the stable id used by sharding.
import { Op, type Expr, type FormatOptions, type SystemSpec, formatExpr, resolveSystem } from './dsl.js';
import { DIMENSIONLESS, FREE_UNIT, UnitTable } from './units.js';

/** The largest size we allow: size 9 is already ~3.5M formulas (see README). */
export const MAX_ENUMERATION_SIZE = 9;

export interface SizeStats {
  size: number;
  /** Every syntactic combination of smaller formulas with one more operation (or the leaves). */
  syntactic: number;
  /** Dropped as commutative duplicates (b + a, b·a with b after a in canonical order). */
  commutativeDuplicates: number;
  /** Dropped because units do not match (sin/cos of a dimensional quantity, + of unequal units). */
  unitInvalid: number;
  /** Kept: unit-valid, canonical formulas of exactly this size. */
  kept: number;
  /** Of the kept, formulas that read at least one input (the others are constants). */
  withInput: number;
  /** Of the kept, formulas without parameters (need no fitting). */
  parameterFree: number;
}

export class Enumeration {
  readonly units: UnitTable;
  readonly inputNames: string[];
  length = 0;
  op: Uint8Array;
  a: Int32Array;
  b: Int32Array;
  unit: Int32Array;
  size: Uint8Array;
  nParams: Uint8Array;
  hasInput: Uint8Array;
  /** Candidates of size s are the indices sizeStart[s] .. sizeStart[s + 1] - 1. */
  readonly sizeStart: number[] = [0, 0];
  readonly stats: SizeStats[] = [];

  constructor(
    readonly system: SystemSpec,
    readonly maxSize: number,
  ) {
    this.units = new UnitTable(system.baseDimensions);
    this.inputNames = system.inputs.map((i) => i.name);
    const cap = 1024;
    this.op = new Uint8Array(cap);
    this.a = new Int32Array(cap);
    this.b = new Int32Array(cap);
    this.unit = new Int32Array(cap);
    this.size = new Uint8Array(cap);
    this.nParams = new Uint8Array(cap);
    this.hasInput = new Uint8Array(cap);
  }

  /** Number of candidate formulas (all sizes ≤ maxSize). */
  get count(): number {
    return this.length;
  }

  push(op: number, a: number, b: number, unit: number, size: number, nParams: number, hasInput: number): void {
    if (this.length === this.op.length) this.grow();
    const i = this.length++;
    this.op[i] = op;
    this.a[i] = a;
    this.b[i] = b;
    this.unit[i] = unit;
    this.size[i] = size;
    this.nParams[i] = nParams;
    this.hasInput[i] = hasInput;
  }

  private grow(): void {
    const n = this.op.length * 2;
    const g = <T extends Uint8Array | Int32Array>(x: T, C: new (n: number) => T): T => {
      const y = new C(n);
      y.set(x);
      return y;
    };
    this.op = g(this.op, Uint8Array);
    this.a = g(this.a, Int32Array);
    this.b = g(this.b, Int32Array);
    this.unit = g(this.unit, Int32Array);
    this.size = g(this.size, Uint8Array);
    this.nParams = g(this.nParams, Uint8Array);
    this.hasInput = g(this.hasInput, Uint8Array);
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new Error(`candidate index ${i} out of range [0, ${this.length}) for ${this.system.name} at depth ${this.maxSize}`);
    }
  }

  /** The formula tree of candidate i, parameters numbered left to right. */
  expr(i: number): Expr {
    this.check(i);
    let nextParam = 0;
    const go = (k: number): Expr => {
      const op = this.op[k]!;
      switch (op) {
        case Op.Input:
          return { op: 'input', index: this.a[k]! };
        case Op.Param:
          return { op: 'param', index: nextParam++ };
        case Op.Sin:
          return { op: 'sin', arg: go(this.a[k]!) };
        case Op.Cos:
          return { op: 'cos', arg: go(this.a[k]!) };
        case Op.Square:
          return { op: 'square', arg: go(this.a[k]!) };
        default: {
          const left = go(this.a[k]!);
          const right = go(this.b[k]!);
          const name = op === Op.Add ? '+' : op === Op.Sub ? '-' : op === Op.Mul ? '*' : '/';
          return { op: name, left, right };
        }
      }
    };
    return go(i);
  }

  format(i: number, opts: FormatOptions = {}): string {
    return formatExpr(this.expr(i), { inputNames: this.inputNames, ...opts });
  }

  /** The unit of candidate i ('?' when a parameter leaves it free). */
  formatUnit(i: number): string {
    this.check(i);
    return this.units.format(this.unit[i]!);
  }

  /** Index of the candidate that prints as `text` (parameters written as `c`), or -1. */
  find(text: string): number {
    if (!this.byText) {
      this.byText = new Map();
      for (let i = 0; i < this.length; i++) this.byText.set(this.format(i).replace(/\s+/g, ''), i);
    }
    return this.byText.get(text.replace(/\s+/g, '')) ?? -1;
  }
  private byText?: Map<string, number>;
  private byNode?: Map<number, number>;

  /** Index of the candidate equal to `expr` up to commutativity (parameters unnumbered), or -1
   * when it is not in the enumeration (too large, or unit-invalid). */
  indexOf(expr: Expr): number {
    if (!this.byNode) {
      this.byNode = new Map();
      for (let i = 0; i < this.length; i++) this.byNode.set(this.nodeKey(this.op[i]!, this.a[i]!, this.b[i]!), i);
    }
    const m = this.byNode;
    const go = (e: Expr): number => {
      let k: number | undefined;
      switch (e.op) {
        case 'input':
          k = m.get(this.nodeKey(Op.Input, e.index, -1));
          break;
        case 'param':
          k = m.get(this.nodeKey(Op.Param, -1, -1));
          break;
        case 'sin':
        case 'cos':
        case 'square': {
          const a = go(e.arg);
          k = a < 0 ? undefined : m.get(this.nodeKey(e.op === 'sin' ? Op.Sin : e.op === 'cos' ? Op.Cos : Op.Square, a, -1));
          break;
        }
        default: {
          const a = go(e.left);
          const b = go(e.right);
          if (a < 0 || b < 0) return -1;
          const op = e.op === '+' ? Op.Add : e.op === '-' ? Op.Sub : e.op === '*' ? Op.Mul : Op.Div;
          const comm = op === Op.Add || op === Op.Mul;
          k = m.get(this.nodeKey(op, comm ? Math.min(a, b) : a, comm ? Math.max(a, b) : b));
        }
      }
      return k ?? -1;
    };
    return go(expr);
  }

  private nodeKey(op: number, a: number, b: number): number {
    const L = this.length + 1;
    return (op * (L + 1) + (a + 1)) * (L + 1) + (b + 1);
  }

  /** Totals over all sizes. */
  totals(): Omit<SizeStats, 'size'> {
    const t = { syntactic: 0, commutativeDuplicates: 0, unitInvalid: 0, kept: 0, withInput: 0, parameterFree: 0 };
    for (const s of this.stats) {
      t.syntactic += s.syntactic;
      t.commutativeDuplicates += s.commutativeDuplicates;
      t.unitInvalid += s.unitInvalid;
      t.kept += s.kept;
      t.withInput += s.withInput;
      t.parameterFree += s.parameterFree;
    }
    return t;
  }
}

function validateSystem(system: SystemSpec, units: UnitTable): number[] {
  if (!system.inputs.length) throw new Error(`system '${system.name}': inputs must list at least one input`);
  if (system.inputs.length > 255) throw new Error(`system '${system.name}': at most 255 inputs`);
  return system.inputs.map((inp, i) => {
    if (!inp.name) throw new Error(`system '${system.name}': inputs[${i}].name is empty`);
    try {
      return units.intern(inp.unit);
    } catch (e) {
      throw new Error(`system '${system.name}': inputs[${i}] ('${inp.name}').unit: ${(e as Error).message}`);
    }
  });
}

/** Every unit-valid, commutatively canonical formula with 1..maxSize nodes. */
export function enumerate(system: string | SystemSpec, maxSize: number): Enumeration {
  const sys = resolveSystem(system);
  if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > MAX_ENUMERATION_SIZE) {
    throw new Error(`depth (max formula size) must be an integer in [1, ${MAX_ENUMERATION_SIZE}], got ${maxSize}`);
  }
  const E = new Enumeration(sys, maxSize);
  const U = E.units;
  const inputUnits = validateSystem(sys, U);

  // Size 1: the inputs, then one Parameter (its unit is free; see README).
  inputUnits.forEach((u, i) => E.push(Op.Input, i, -1, u, 1, 0, 1));
  E.push(Op.Param, -1, -1, FREE_UNIT, 1, 1, 0);
  E.sizeStart[2] = E.length;
  const leaves = E.length;
  E.stats.push({ size: 1, syntactic: leaves, commutativeDuplicates: 0, unitInvalid: 0, kept: leaves, withInput: inputUnits.length, parameterFree: inputUnits.length });

  for (let s = 2; s <= maxSize; s++) {
    const start = E.length;
    let syntactic = 0;
    let ordered = 0;
    let diagonal = 0;
    // Unary operations on formulas of size s - 1.
    const u0 = E.sizeStart[s - 1]!;
    const u1 = E.sizeStart[s]!;
    syntactic += 3 * (u1 - u0);
    for (let i = u0; i < u1; i++) {
      const ui = E.unit[i]!;
      const np = E.nParams[i]!;
      const hi = E.hasInput[i]!;
      if (ui === FREE_UNIT || ui === DIMENSIONLESS) {
        E.push(Op.Sin, i, -1, DIMENSIONLESS, s, np, hi);
        E.push(Op.Cos, i, -1, DIMENSIONLESS, s, np, hi);
      }
      E.push(Op.Square, i, -1, U.combine(ui, ui, 1), s, np, hi);
    }
    // Binary operations: sizes sa + sb = s - 1.
    for (let sa = 1; sa <= s - 2; sa++) {
      const sb = s - 1 - sa;
      const a0 = E.sizeStart[sa]!;
      const a1 = E.sizeStart[sa + 1]!;
      const b0 = E.sizeStart[sb]!;
      const b1 = E.sizeStart[sb + 1]!;
      ordered += (a1 - a0) * (b1 - b0);
      if (sa === sb) diagonal += a1 - a0;
      for (let i = a0; i < a1; i++) {
        const ui = E.unit[i]!;
        const npi = E.nParams[i]!;
        const hi = E.hasInput[i]!;
        for (let j = b0; j < b1; j++) {
          const uj = E.unit[j]!;
          const np = npi + E.nParams[j]!;
          const h = hi | E.hasInput[j]!;
          // Commutative operands in canonical order only: i ≤ j (ids are size-major).
          const canonical = i <= j;
          // + and − need equal units; a free (parameter-carrying) side adopts the other's unit.
          const sumUnit = ui === FREE_UNIT ? uj : uj === FREE_UNIT ? ui : ui === uj ? ui : -2;
          if (sumUnit !== -2) {
            if (canonical) E.push(Op.Add, i, j, sumUnit, s, np, h);
            E.push(Op.Sub, i, j, sumUnit, s, np, h);
          }
          if (canonical) E.push(Op.Mul, i, j, U.combine(ui, uj, 1), s, np, h);
          E.push(Op.Div, i, j, U.combine(ui, uj, -1), s, np, h);
        }
      }
    }
    syntactic += 4 * ordered;
    E.sizeStart[s + 1] = E.length;
    const kept = E.length - start;
    // Ordered pairs with i > j, for each of + and ×.
    const commutativeDuplicates = ordered - diagonal;
    let withInput = 0;
    let parameterFree = 0;
    for (let i = start; i < E.length; i++) {
      withInput += E.hasInput[i]!;
      if (E.nParams[i] === 0) parameterFree++;
    }
    E.stats.push({ size: s, syntactic, commutativeDuplicates, unitInvalid: syntactic - commutativeDuplicates - kept, kept, withInput, parameterFree });
  }
  return E;
}

const cache = new Map<string, Enumeration>();

/** enumerate() with a small cache: shards of one search share one enumeration per process. */
export function enumerateCached(system: string | SystemSpec, maxSize: number): Enumeration {
  const sys = resolveSystem(system);
  const key = JSON.stringify([sys, maxSize]);
  let e = cache.get(key);
  if (!e) {
    if (cache.size >= 4) cache.clear();
    e = enumerate(sys, maxSize);
    cache.set(key, e);
  }
  return e;
}

// Physical units as integer exponent vectors over base dimensions. Default base: [L, M, T]
// (length, mass, time). Angles are dimensionless (SI radians), so sin/cos accept any
// dimensionless argument, e.g. sin(q²) for an angle q. Units are interned to small integer ids
// so that enumeration compares and combines them with table look-ups.

/** Exponents over the base dimensions, e.g. momentum M·L·T⁻¹ = [1, 1, -1]. */
export type Unit = readonly number[];

/** The default base dimensions. */
export const BASE_DIMENSIONS = ['L', 'M', 'T'] as const;

/** Unit id of a Parameter before it is constrained: it takes whatever unit makes the formula valid. */
export const FREE_UNIT = -1;
/** Unit id of a dimensionless quantity (always interned first). */
export const DIMENSIONLESS = 0;

export class UnitTable {
  readonly dims: number;
  private readonly vectors: Int16Array[] = [];
  private readonly ids = new Map<string, number>();
  private readonly memo = new Map<number, number>();

  constructor(readonly baseNames: readonly string[] = BASE_DIMENSIONS) {
    if (baseNames.length < 1) throw new Error('UnitTable: baseNames must name at least one base dimension');
    this.dims = baseNames.length;
    this.intern(new Array<number>(this.dims).fill(0));
  }

  intern(u: Unit): number {
    if (u.length !== this.dims) {
      throw new Error(`unit [${u.join(', ')}] has ${u.length} exponents; expected ${this.dims} (${this.baseNames.join(', ')})`);
    }
    for (const e of u) {
      if (!Number.isInteger(e)) throw new Error(`unit [${u.join(', ')}]: exponents must be integers`);
      if (Math.abs(e) > 30000) throw new Error(`unit [${u.join(', ')}]: exponent out of range`);
    }
    const key = u.join(',');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.vectors.length;
      this.vectors.push(Int16Array.from(u));
      this.ids.set(key, id);
    }
    return id;
  }

  vector(id: number): Unit {
    if (id === FREE_UNIT) throw new Error('the free (parameter) unit has no exponent vector');
    const v = this.vectors[id];
    if (!v) throw new Error(`unknown unit id ${id}`);
    return Array.from(v);
  }

  get size(): number {
    return this.vectors.length;
  }

  /** Unit of a·b (k = 1), a/b (k = -1) or a² (b = a, k = 1). Free absorbs everything. */
  combine(a: number, b: number, k: 1 | -1): number {
    if (a === FREE_UNIT || b === FREE_UNIT) return FREE_UNIT;
    const key = (a * 65536 + b) * 2 + (k === 1 ? 1 : 0);
    let r = this.memo.get(key);
    if (r === undefined) {
      const va = this.vectors[a]!;
      const vb = this.vectors[b]!;
      const out = new Array<number>(this.dims);
      for (let i = 0; i < this.dims; i++) out[i] = va[i]! + k * vb[i]!;
      r = this.intern(out);
      this.memo.set(key, r);
    }
    return r;
  }

  format(id: number): string {
    if (id === FREE_UNIT) return '?';
    const v = this.vectors[id]!;
    const parts: string[] = [];
    for (let i = 0; i < this.dims; i++) if (v[i] !== 0) parts.push(v[i] === 1 ? this.baseNames[i]! : `${this.baseNames[i]}^${v[i]}`);
    return parts.length ? parts.join('·') : '1';
  }
}

/** Parses a unit such as `M*L^2/T`, `1/T`, `L*T^-1` or `1` (dimensionless) into integer exponents
 * over `base` (default L, M, T). `what` names it in errors. */
export function parseUnit(text: string, what = 'unit', base: readonly string[] = BASE_DIMENSIONS): number[] {
  const u = new Array<number>(base.length).fill(0);
  const s = text.replace(/\s+/g, '');
  const eg = `use products of ${base.join(', ')} with integer powers, e.g. ${base.length >= 3 ? `${base[1]}*${base[0]}^2/${base[2]}` : `${base[0]}^2`} (or 1)`;
  if (s === '') throw new Error(`${what}: empty unit; ${eg}`);
  for (const raw of s.split(/(?=[*/])/)) {
    const sign = raw.startsWith('/') ? -1 : 1;
    const f = raw.replace(/^[*/]/, '');
    if (f === '1') continue;
    const m = /^([A-Za-z_]+)(?:\^(-?\d+))?$/.exec(f);
    const i = m ? base.indexOf(m[1]!) : -1;
    if (!m || i < 0) throw new Error(`${what}: cannot read '${f}' in unit '${text}'; ${eg}`);
    u[i]! += sign * (m[2] ? Number(m[2]) : 1);
  }
  return u;
}


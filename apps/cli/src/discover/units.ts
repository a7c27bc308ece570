// Input units on the command line: `--inputs q:1,p:M*L^2/T` — names and units (products of the
// base dimensions L, M, T with integer powers; `1` is dimensionless) of the state columns.
import { CliError } from '../cli/errors.js';

export const BASE = ['L', 'M', 'T'] as const;

export interface InputUnit {
  name: string;
  unit: number[];
  /** As given, for result.json. */
  text: string;
}

/** Parses a unit such as `M*L^2/T`, `1/T`, `L*T^-1`, `1` into exponents over L, M, T. */
export function parseUnit(text: string, what = 'unit'): number[] {
  const u = [0, 0, 0];
  const s = text.replace(/\s+/g, '');
  if (s === '') throw new CliError(`${what}: empty unit; use e.g. 1 (dimensionless), L, M*L^2/T`);
  const parts = s.split(/(?=[*/])/);
  for (const raw of parts) {
    const sign = raw.startsWith('/') ? -1 : 1;
    const f = raw.replace(/^[*/]/, '');
    if (f === '1') continue;
    const m = /^([LMT])(?:\^(-?\d+))?$/.exec(f);
    if (!m) throw new CliError(`${what}: cannot read '${f}' in unit '${text}'; use products of L, M, T with integer powers, e.g. M*L^2/T (or 1)`);
    u[BASE.indexOf(m[1] as 'L')] += sign * (m[2] ? Number(m[2]) : 1);
  }
  return u;
}

/** `q:1,p:M*L^2/T` → inputs in order. */
export function parseInputs(text: string): InputUnit[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new CliError(`--inputs is empty; give NAME:UNIT pairs, e.g. --inputs q:1,p:M*L^2/T`);
  const seen = new Set<string>();
  return items.map((it) => {
    const i = it.indexOf(':');
    if (i <= 0) throw new CliError(`--inputs: '${it}' is not NAME:UNIT (e.g. q:1 or p:M*L^2/T)`);
    const name = it.slice(0, i);
    if (seen.has(name)) throw new CliError(`--inputs names '${name}' twice`);
    seen.add(name);
    const unitText = it.slice(i + 1);
    return { name, unit: parseUnit(unitText, `--inputs ${name}`), text: unitText };
  });
}

export function formatUnit(u: readonly number[]): string {
  const parts = BASE.flatMap((b, i) => (u[i] ? [u[i] === 1 ? b : `${b}^${u[i]}`] : []));
  return parts.length ? parts.join('*') : '1';
}

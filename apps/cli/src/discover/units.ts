// Input units on the command line: `--inputs q:1,p:M*L^2/T` — names and units (products of the
// base dimensions L, M, T with integer powers; `1` is dimensionless) of the state columns.
import { BASE_DIMENSIONS, parseUnit as parseSymbolicUnit } from '@noether/embeddings-symbolic';
import { CliError } from '../cli/errors.js';

export interface InputUnit {
  name: string;
  unit: number[];
  /** As given, for result.json. */
  text: string;
}

/** Parses a unit such as `M*L^2/T`, `1/T`, `L*T^-1`, `1` into exponents over L, M, T (embeddings-symbolic's parser). */
export function parseUnit(text: string, what = 'unit'): number[] {
  try {
    return parseSymbolicUnit(text, what, BASE_DIMENSIONS);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
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

// A small strict argument parser: every flag is declared; an unknown flag, a missing
// value or a bad number is a UsageError naming the flag and listing the valid ones.
import { UsageError } from './errors.js';

export type FlagType = 'boolean' | 'string' | 'number' | 'int' | 'list';

export interface FlagSpec {
  /** Long name without the dashes, e.g. 'out' for --out. */
  name: string;
  short?: string;
  type: FlagType;
  description: string;
  /** Placeholder in help, e.g. DIR. */
  valueName?: string;
  choices?: readonly string[];
  /** Smallest value a number / int flag accepts. */
  min?: number;
  /** Largest value a number / int flag accepts. */
  max?: number;
  /** The values of the command's first positional (its variant: an analysis, a dataset kind) that take
   * this flag; refuseOtherVariantsFlags refuses it with any other. Absent: every variant takes it. */
  only?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes all remaining positionals (must be last). */
  variadic?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface Parsed {
  flags: FlagValues;
  positionals: Record<string, string | string[] | undefined>;
  /** Positionals in order, as given. */
  rest: string[];
}

function flagList(specs: readonly FlagSpec[]): string {
  return specs.map((s) => `--${s.name}`).join(', ');
}

/** What a flag takes, for "needs a value" errors: its placeholder, and its choices when it has them. */
function wanted(spec: FlagSpec): string {
  return spec.choices ? `one of ${spec.choices.join(', ')}` : spec.valueName ?? spec.type.toUpperCase();
}

function convert(spec: FlagSpec, raw: string): string | number {
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
  }
  if (spec.type === 'number' || spec.type === 'int') {
    const v = Number(raw);
    if (!Number.isFinite(v) || (spec.type === 'int' && !Number.isInteger(v)) || v < (spec.min ?? -Infinity) || v > (spec.max ?? Infinity)) {
      const bound = [spec.min === undefined ? '' : ` >= ${spec.min}`, spec.max === undefined ? '' : ` <= ${spec.max}`].filter((b) => b).join(' and');
      throw new UsageError(`--${spec.name} needs ${spec.type === 'int' ? 'an integer' : 'a number'}${bound}, got '${raw}'`);
    }
    return v;
  }
  return raw;
}

/** Parses argv against the declared flags and positionals. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], positionals: readonly PositionalSpec[] = []): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags: FlagValues = {};
  const rest: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositionals || a === '-' || !a.startsWith('-')) {
      rest.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag '--${name}'; valid flags: ${flagList(specs)}`);
    } else {
      spec = byShort.get(a.slice(1));
      if (!spec) throw new UsageError(`unknown flag '${a}'; valid flags: ${flagList(specs)}`);
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined && !['true', 'false'].includes(inline)) {
        throw new UsageError(`--${spec.name} is a switch: use --${spec.name} alone (or =true / =false), got '${inline}'`);
      }
      flags[spec.name] = inline === undefined ? true : inline === 'true';
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${spec.name} needs a value (${wanted(spec)})`);
      }
      raw = next;
      i++;
    }
    // An empty value ('--out ""', or a global '--backend' with nothing after it) is never meant.
    if (raw.trim() === '') throw new UsageError(`--${spec.name} needs a value (${wanted(spec)}), got an empty one`);
    if (spec.type === 'list') {
      const prev = (flags[spec.name] as string[] | undefined) ?? [];
      flags[spec.name] = [...prev, raw];
    } else {
      if (flags[spec.name] !== undefined) throw new UsageError(`--${spec.name} given twice; give it once`);
      flags[spec.name] = convert(spec, raw);
    }
  }
  const pos: Parsed['positionals'] = {};
  let k = 0;
  for (const p of positionals) {
    if (p.variadic) {
      pos[p.name] = rest.slice(k);
      if (p.required && rest.length <= k) throw new UsageError(`missing ${p.name.toUpperCase()}: ${p.description}`);
      k = rest.length;
      break;
    }
    if (k < rest.length) pos[p.name] = rest[k++];
    else if (p.required) throw new UsageError(`missing ${p.name.toUpperCase()}: ${p.description}`);
  }
  if (k < rest.length) {
    throw new UsageError(
      positionals.length
        ? `unexpected argument '${rest[k]}' (takes ${positionals.map((p) => p.name.toUpperCase() + (p.variadic ? '...' : '')).join(' ')})`
        : `unexpected argument '${rest[k]}' (this command takes no positional arguments)`,
    );
  }
  return { flags, positionals: pos, rest };
}

/**
 * Refuses a flag that only other variants of `command` take (FlagSpec.only), e.g. `analyze gradcam
 * --steps`: parseArgs accepts every flag the command declares, so the variant would ignore it silently.
 * Call it once `variant` is known to be valid, so an unknown one gets its own error.
 */
export function refuseOtherVariantsFlags(command: string, specs: readonly FlagSpec[], flags: FlagValues, variant: string): void {
  const s = specs.find((x) => x.only && !x.only.includes(variant) && flags[x.name] !== undefined);
  if (s) throw new UsageError(`--${s.name} applies to ${s.only!.join(' and ')} only, not ${variant}: drop it, or run noether ${command} ${s.only!.join('|')}`);
}

/** Help lines for flags, aligned. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` ${s.valueName ?? s.type.toUpperCase()}`}`;
    const choices = s.choices ? ` (${s.choices.join('|')})` : '';
    return [left, s.description + choices + (s.type === 'list' ? ' (repeatable)' : '')] as const;
  });
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`).join('\n');
}

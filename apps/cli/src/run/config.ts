// Config files (JSON or YAML) and command-line overrides, validated by core's zod schema.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError, parseConfig, parseConfigText, setPath, type ExperimentConfig } from '@noether/core';
import { CliError, EXIT } from '../cli/errors.js';

/** Reads and parses a config file into a plain object (not yet validated). */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new CliError(`config file not found: ${path} (check the path given to --config)`);
  if (statSync(path).isDirectory()) throw new CliError(`--config needs a file, got the directory ${path}`);
  const raw = wrap(() => parseConfigText(readFileSync(path, 'utf8'), path));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CliError(`config file ${path} must hold an object of fields (name, seed, predictor, dataset, ...)`);
  }
  return raw as Record<string, unknown>;
}

/** Applies `--set a.b=value` overrides (values parsed as JSON when they can be). */
export function applySets(raw: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new CliError(`--set needs FIELD=VALUE (e.g. --set outer.lrPhi=1e-3), got '${s}'`);
    try {
      setPath(out, s.slice(0, eq), s.slice(eq + 1));
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`--set ${s}: ${e.message}`, EXIT.USAGE);
      throw e;
    }
  }
  return out;
}

const isGroup = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A config file over a built-in config: a group the file gives (outer, eval, predictor, …) changes only
 * the fields it names, as --set does; a part of another `type` (predictor, embedding, dataset) and a
 * list are taken whole from the file.
 */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const otherPart = isGroup(b) && isGroup(v) && 'type' in v && v['type'] !== b['type'];
    out[k] = isGroup(b) && isGroup(v) && !otherPart ? mergeConfig(b, v) : v;
  }
  return out;
}

/** Validates against the core schema; a ConfigError becomes one line naming the field. */
export function validateConfig(raw: unknown, source: string): ExperimentConfig {
  return wrap(() => parseConfig(raw, source));
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${e.message} (fix the file or the --set value)`, EXIT.USAGE);
    throw e;
  }
}

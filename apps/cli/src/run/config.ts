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
    setPath(out, s.slice(0, eq), s.slice(eq + 1));
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

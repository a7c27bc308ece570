// Users' own plugins on the command line: `--plugin MODULE` loads a JavaScript module that exports
// `register(container)` (core's Plugin), the same function a library user passes to
// createContainer, so an embedding or predictor written against @noether/core runs from the CLI
// without touching Noether. A run records the resolved modules in meta.json, so eval, analyze and
// --resume rebuild its models with them.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from '@noether/core';
import type { FlagSpec } from '../cli/args.js';
import { CliError } from '../cli/errors.js';
import { type Io, resolvePath } from '../cli/io.js';

export const PLUGIN_FLAG: FlagSpec = {
  name: 'plugin',
  type: 'list',
  valueName: 'MODULE',
  description:
    'load your own plugin: a JavaScript module (file or package) exporting register(container), e.g. --plugin ./my-embedding.js; ' +
    // No "repeatable" here: the help adds "(repeatable)" to every list flag.
    'a run records it, so eval, analyze and --resume load it again',
};

export interface UserPlugins {
  plugins: Plugin[];
  /** Where each module was found: absolute file paths, as recorded in meta.json. */
  resolved: string[];
}

const looksLikePath = (spec: string): boolean => spec.startsWith('.') || isAbsolute(spec) || /[\\/]/.test(spec) && !spec.startsWith('@') || /\.[cm]?[jt]s$/.test(spec);

/** The module file a --plugin value names: a path (relative to the working folder) or a package name. */
function locate(io: Io, spec: string, origin: string): string {
  if (looksLikePath(spec)) {
    const file = resolvePath(io, spec);
    if (!existsSync(file)) throw new CliError(`${origin} ${spec}: no such file (${file}); give the path of a JavaScript module that exports register(container)`);
    if (statSync(file).isDirectory()) throw new CliError(`${origin} ${spec}: is a folder; give the module file (e.g. ${join(spec, 'index.js')}) or its package name`);
    return file;
  }
  try {
    // A package is looked up from the working folder, as the user's own code would find it.
    return createRequire(join(io.cwd, 'noether-plugin.js')).resolve(spec);
  } catch {
    throw new CliError(`${origin} ${spec}: no such package under ${io.cwd}; install it there (npm install ${spec}) or give the module's path (./file.js)`);
  }
}

/** Imports each module and wraps its register so a failure names the module. */
export async function loadUserPlugins(io: Io, specs: readonly string[], origin = '--plugin'): Promise<UserPlugins> {
  const out: UserPlugins = { plugins: [], resolved: [] };
  for (const spec of specs) {
    const file = locate(io, spec, origin);
    if (/^\.[cm]?ts$/.test(extname(file))) {
      throw new CliError(`${origin} ${spec}: a TypeScript file; compile it to JavaScript first (e.g. npx tsc) and give the .js file`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`${origin} ${spec}: could not be loaded: ${String((e as Error).message ?? e).split('\n')[0]}`);
    }
    const register = mod['register'] ?? mod['default'];
    if (typeof register !== 'function') {
      const names = Object.keys(mod);
      throw new CliError(`${origin} ${spec}: exports no register(container) function (it exports: ${names.join(', ') || 'nothing'}); export one that registers your factories, as docs/plugins.md shows`);
    }
    out.plugins.push((container) => {
      try {
        (register as Plugin)(container);
      } catch (e) {
        throw new CliError(`${origin} ${spec}: its register(container) threw: ${String((e as Error).message ?? e).split('\n')[0]}`);
      }
    });
    out.resolved.push(file);
  }
  return out;
}

/**
 * The plugins of a command that works on run `recorded`: the --plugin values when given (a plugin
 * that moved), else the modules the run recorded. A recorded module that is gone is an error
 * naming the way out, since without it the run's models cannot be rebuilt.
 */
export async function pluginsFor(io: Io, flag: readonly string[] | undefined, recorded: readonly string[] | undefined, runPath?: string): Promise<UserPlugins> {
  if (flag?.length) return loadUserPlugins(io, flag);
  for (const file of recorded ?? []) {
    if (!existsSync(file)) {
      throw new CliError(`run ${runPath ?? ''} was made with plugin ${file}, which is no longer there: restore it, or give its new place with --plugin FILE`);
    }
  }
  return loadUserPlugins(io, recorded ?? [], `plugin recorded in ${runPath ?? 'the run'}/meta.json:`);
}

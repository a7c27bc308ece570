// Node loader hook for running the built CLI from dist/ while tfjs-core's ESM files (and core's import of them) use extension-less
// relative specifiers (fine for bundlers and
// vitest, not for Node's ESM resolver). Usage: node --import ./bench/discover/resolve-hook.mjs ...
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try { return await next(specifier, context); }
  catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && !/\\.[cm]?js$/.test(specifier)) return next(specifier + '.js', context);
    if (e && e.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
      try { return await next(specifier + '.js', context); } catch { return next(specifier + '/index.js', context); }
    }
    throw e;
  }
}`));

// Node ESM resolve hook. @noether/core's built dist imports two tfjs-core deep paths without the
// '.js' extension ('@tensorflow/tfjs-core/dist/register_all_gradients'): fine for tsc, vitest and
// bundlers, an ERR_MODULE_NOT_FOUND for plain `node`. Until core writes them with '.js', the bench
// adds the extension itself. Registered by register-hook.mjs (node --import).
export async function resolve(specifier, context, next) {
  if (/^@tensorflow\/[^/]+\/dist\/.*[^/]$/.test(specifier) && !/\.[cm]?js$/.test(specifier)) {
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      // fall through to the original specifier and its error
    }
  }
  return next(specifier, context);
}

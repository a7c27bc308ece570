// Installs the second-order gradient fixes (gradients.ts) into tfjs' global gradient registry and
// verifies they are still there. tf.ts calls installSecondOrderFixes() once, after every tfjs
// import: a later import of register_all_gradients (tfjs, tfjs-layers, tfjs-node do it) silently
// puts the stock, output-saving gradients back, which checkSecondOrderFixes() detects.
import { getGradient, registerGradient } from '@tensorflow/tfjs-core';
import { SECOND_ORDER_GRADIENTS } from './gradients.js';
import { installFreeingBackprop } from './backprop.js';
import { installBatchNormDefaults } from './batch-norm-defaults.js';
import { installRecomputingCustomGrad } from './custom-grad.js';

let installed = false;

export function installSecondOrderFixes(): void {
  for (const g of SECOND_ORDER_GRADIENTS) registerGradient(g);
  installFreeingBackprop();
  installBatchNormDefaults();
  installRecomputingCustomGrad();
  installed = true;
  checkSecondOrderFixes();
}

/** Names of the kernels whose gradients this module registers. */
export function secondOrderFixedKernels(): string[] {
  return SECOND_ORDER_GRADIENTS.map((g) => g.kernelName);
}

/**
 * Throws if any registered gradient is not ours (the registry lives on the JS global and is
 * shared by every tfjs-core copy, so a late tfjs import anywhere in the process overwrites it).
 */
export function checkSecondOrderFixes(): void {
  if (!installed) throw new Error('second-order fixes not installed: import tf from @noether/core before use');
  const replaced = SECOND_ORDER_GRADIENTS.filter((g) => getGradient(g.kernelName) !== g).map((g) => {
    const now = getGradient(g.kernelName);
    const why = !now ? ' (no gradient)' : now.outputsToSave?.some(Boolean) ? ' (saves its output: stock tfjs gradient)' : '';
    return `${g.kernelName}${why}`;
  });
  if (replaced.length > 0) {
    throw new Error(
      `second-order gradient fixes were overwritten for ${replaced.join(', ')}: some module imported ` +
        `tfjs (e.g. @tensorflow/tfjs, tfjs-layers, tfjs-node or tfjs-core/dist/register_all_gradients) after ` +
        `@noether/core. Import tfjs only through @noether/core, or call installSecondOrderFixes() again after ` +
        `that import; meta-gradients would otherwise be silently wrong.`,
    );
  }
}

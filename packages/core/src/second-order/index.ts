export { installSecondOrderFixes, checkSecondOrderFixes, secondOrderFixedKernels } from './install.js';
export { ZERO_GRADIENT_KERNELS } from './gradients.js';
export {
  traceKernels,
  traceKernelsAsync,
  auditSecondOrder,
  uncheckedKernels,
  SECOND_ORDER_CHECKED,
} from './audit.js';

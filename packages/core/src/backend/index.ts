export { selectBackend, listBackends, BACKEND_NAMES } from './select.js';
export type { BackendName, BackendChoice, SelectOptions } from './select.js';
export { registerWasmKernels, WASM_ADDED_KERNELS } from './wasm-kernels.js';

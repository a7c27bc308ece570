export { selectBackend, listBackends, BACKEND_NAMES } from './select.js';
export type { BackendName, BackendChoice, SelectOptions, WasmBinaryName } from './select.js';
export { registerWasmKernels, restoreStockWasmKernels, WASM_ADDED_KERNELS, WASM_REPLACED_KERNELS } from './wasm-kernels.js';

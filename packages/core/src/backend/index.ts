export { selectBackend, listBackends, wasmKernelPool, BACKEND_NAMES } from './select.js';
export type { BackendName, BackendChoice, SelectOptions, WasmBinaryName } from './select.js';
export { registerWasmKernels, restoreStockWasmKernels, WASM_ADDED_KERNELS, WASM_REPLACED_KERNELS } from './wasm-kernels.js';
export type { KernelWorker, SpawnKernelWorker } from './wasm-pool.js';

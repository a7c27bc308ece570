// tfjs-backend-wasm 4.22 multiplies with a transposed operand (matMul(a, b, tA, tB), which every
// matMul gradient uses: dA = dy·Bᵀ, dB = Aᵀ·dy) 8–13× slower than without: 750×200 · (200×200)ᵀ
// takes ~400 ms against ~30 ms for an explicit transpose then a plain product (bench/discover,
// 2 loaded cores). Pre-training and meta-tailoring the 200-wide MLP are made of such products, so
// the wasm BatchMatMul kernel is wrapped: transposed operands are transposed by the Transpose
// kernel first. Same products, same gradients (the op-level gradient is unchanged: only the
// kernel a product runs on). Skipped when core's registerWasmKernels already replaces
// BatchMatMul (WASM_REPLACED_KERNELS, newer core): then this file can go.
import * as core from '@noether/core';
import { tf } from '@noether/core';

type Info = tf.TensorInfo;
type Backend = { disposeData(id: object): unknown };

let installed = false;

/** Wraps the wasm BatchMatMul kernel (idempotent); false when the wasm backend is not registered. */
export function installWasmMatMulTranspose(): boolean {
  if (installed) return true;
  const replaced = (core as unknown as { WASM_REPLACED_KERNELS?: readonly string[] }).WASM_REPLACED_KERNELS;
  if (replaced?.includes('BatchMatMul')) return (installed = true);
  const orig = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!orig || !transpose) return false;
  const origFunc = orig.kernelFunc;
  const swapLast = (x: Info, backend: Backend): Info => {
    const r = x.shape.length;
    const perm = Array.from({ length: r }, (_, i) => (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2));
    return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } } as never) as Info;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as { inputs: { a: Info; b: Info }; backend: Backend; attrs: { transposeA: boolean; transposeB: boolean } };
      if (!attrs.transposeA && !attrs.transposeB) return origFunc(args);
      const made: Info[] = [];
      const a = attrs.transposeA ? (made.push(swapLast(inputs.a, backend)), made[made.length - 1]!) : inputs.a;
      const b = attrs.transposeB ? (made.push(swapLast(inputs.b, backend)), made[made.length - 1]!) : inputs.b;
      const out = origFunc({ ...args, inputs: { a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } } as never);
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    },
  });
  installed = true;
  return true;
}

// Experimental wasm kernel replacements, bench-only and opt-in (peer 'tfjs-wasm-fix'); they belong in
// core's backend/wasm-kernels.ts once reviewed, and are kept here so the bench can measure them.
// Numbers checked against the cpu backend by `node bench/meta-step/run.mjs --check-fixes`.
//
// 1. BatchMatMul. tfjs-backend-wasm 4.22 runs BatchMatMul on
// XNNPACK only when neither operand is transposed and both batch sizes are 1
// (src/cc/batch_mat_mul_impl.cc); every other case goes to `slow_batch_matmul`, a scalar,
// strided triple loop. Every matMul gradient is transposed (dA = dy·Bᵀ, dB = Aᵀ·dy), so backward
// and second-order passes of the MLP run almost entirely on the slow loop. This wrapper
// materialises the transposes with the wasm Transpose kernel and folds a batched A against an
// unbatched B into one matrix, so the product always takes the XNNPACK path.

const prod = (s) => s.reduce((a, b) => a * b, 1);

/** Replaces the wasm BatchMatMul kernel with the wrapper; returns false if wasm has none. */
export function installWasmMatMulFix(tf) {
  const orig = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  const reshape = tf.getKernel('Reshape', 'wasm');
  if (!orig || !transpose || !reshape) return false;
  if (orig.kernelFunc.isBenchFix) return true;
  const origFunc = orig.kernelFunc;

  function kernelFunc({ inputs, backend, attrs }) {
    let { a, b } = inputs;
    const { transposeA, transposeB } = attrs;
    const made = [];
    const run = (k, ins, at) => {
      const out = k.kernelFunc({ inputs: ins, backend, attrs: at });
      made.push(out);
      return out;
    };
    const swapLast = (x) => {
      const r = x.shape.length;
      const perm = [...Array(r).keys()];
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return run(transpose, { x }, { perm });
    };
    if (transposeA) a = swapLast(a);
    if (transposeB) b = swapLast(b);
    const batchA = prod(a.shape.slice(0, -2));
    const batchB = prod(b.shape.slice(0, -2));
    let out;
    if (batchB === 1 && batchA > 1) {
      // [.., M, K] @ [K, N]: the rows of A are contiguous, so it is one [batchA·M, K] @ [K, N].
      const [M, K] = a.shape.slice(-2);
      const N = b.shape[b.shape.length - 1];
      const a2 = run(reshape, { x: a }, { shape: [batchA * M, K] });
      const b2 = run(reshape, { x: b }, { shape: [K, N] });
      const o = run(orig, { a: a2, b: b2 }, { ...attrs, transposeA: false, transposeB: false });
      // Reshape shares o's buffer and adds a reference: disposing o below leaves it to `out`.
      out = reshape.kernelFunc({ inputs: { x: o }, backend, attrs: { shape: [...a.shape.slice(0, -2), M, N] } });
    } else {
      out = origFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    }
    for (const t of made) backend.disposeData(t.dataId);
    return out;
  }
  kernelFunc.isBenchFix = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...orig, kernelFunc });
  return true;
}

// 2. Conv2DBackpropInput. tfjs-backend-wasm 4.22 computes it with a scalar 7-deep loop
// (src/cc/kernels/Conv2DBackpropInput.cc), not XNNPACK; it is on every path of the meta-gradient
// through a conv (the inner gradient w.r.t. activations, and the outer gradient through it).
// dx is a stride-1 correlation of the stride-dilated dy with the spatially flipped filter, its
// in/out channels swapped: dx = conv2d(dilate_s(dy), flip(W)ᵀ, pad (k−1−pad_top, rest)), run by the
// wasm Conv2D kernel (XNNPACK). The dilation is reshape → zero PadV2 → reshape.
export function installWasmConvBackpropInputFix(tf) {
  const orig = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const k = (n) => {
    const c = tf.getKernel(n, 'wasm');
    if (!c) throw new Error(`wasm has no '${n}' kernel`);
    return c.kernelFunc;
  };
  if (!orig) return false;
  if (orig.kernelFunc.isBenchFix) return true;
  const [conv2d, pad, reshape, reverse, transpose, slice] = ['Conv2D', 'PadV2', 'Reshape', 'Reverse', 'Transpose', 'Slice'].map(k);

  function kernelFunc({ inputs, backend, attrs }) {
    const { dy, filter } = inputs;
    const { strides, pad: padding, dataFormat, dimRoundingMode, inputShape } = attrs;
    if (dataFormat && dataFormat !== 'NHWC') return orig.kernelFunc({ inputs, backend, attrs });
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, padding, dimRoundingMode, false, 'channelsLast');
    const { strideHeight: sh, strideWidth: sw, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
    const [B, , , CO] = dy.shape;
    const CI = filter.shape[2];
    const top = KH - 1 - info.padInfo.top;
    const left = KW - 1 - info.padInfo.left;
    // Dilated dy is OH·sh long (the last sh−1 rows are zeros); rows past what dx needs are cut.
    const bottom = H - OH * sh - top + KH - 1;
    const right = W - OW * sw - left + KW - 1;
    if (top < 0 || left < 0 || bottom < -(sh - 1) || right < -(sw - 1)) return orig.kernelFunc({ inputs, backend, attrs });
    const made = [];
    const run = (f, ins, at) => {
      const o = f({ inputs: ins, backend, attrs: at });
      made.push(o);
      return o;
    };
    let d = dy;
    if (sh > 1 || sw > 1) {
      const r6 = run(reshape, { x: dy }, { shape: [B, OH, 1, OW, 1, CO] });
      const p6 = run(pad, { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
      d = run(reshape, { x: p6 }, { shape: [B, OH * sh, OW * sw, CO] });
      if (bottom < 0 || right < 0) {
        d = run(slice, { x: d }, { begin: [0, 0, 0, 0], size: [B, OH * sh + Math.min(0, bottom), OW * sw + Math.min(0, right), CO] });
      }
    }
    const flipped = run(reverse, { x: filter }, { dims: [0, 1] });
    const wT = run(transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
    const out = conv2d({
      inputs: { x: d, filter: wT }, backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
    });
    for (const t of made) backend.disposeData(t.dataId);
    if (out.shape[1] !== H || out.shape[2] !== W || out.shape[3] !== CI) {
      throw new Error(`wasm Conv2DBackpropInput fix: got [${out.shape}], expected [${B},${H},${W},${CI}]`);
    }
    return out;
  }
  kernelFunc.isBenchFix = true;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...orig, kernelFunc });
  return true;
}

// 3. Comparisons (Equal, …) with broadcasting. tfjs-backend-wasm 4.22 registers them without
// full-broadcast support, and its generic broadcasting loop costs ~0.4 s for one [4,32,2,32,2,32]
// vs [4,32,1,32,1,32] Equal — the mask in the gradient of core's reshape+max 2×2 max-pool
// (second-order/gradients.ts, minMaxGrad). Broadcast both operands first with the wasm Add kernel
// (XNNPACK, broadcasting natively; x + 0 is exact), then compare equal shapes.
const COMPARISONS = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'];

export function installWasmComparisonFix(tf) {
  const add = tf.getKernel('Add', 'wasm');
  const fill = tf.getKernel('Fill', 'wasm');
  if (!add || !fill) return false;
  let any = false;
  for (const name of COMPARISONS) {
    const orig = tf.getKernel(name, 'wasm');
    if (!orig || orig.kernelFunc.isBenchFix) continue;
    function kernelFunc({ inputs, backend, attrs }) {
      const { a, b } = inputs;
      const sa = a.shape.join();
      const sb = b.shape.join();
      const size = (t) => t.shape.reduce((x, y) => x * y, 1);
      if (sa === sb || size(a) === 1 || size(b) === 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
        return orig.kernelFunc({ inputs, backend, attrs });
      }
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const zeros = fill.kernelFunc({ backend, attrs: { shape, value: 0, dtype: 'float32' }, inputs: {} });
      const made = [zeros];
      const full = (t) => {
        if (t.shape.join() === shape.join()) return t;
        const o = add.kernelFunc({ inputs: { a: t, b: zeros }, backend, attrs: {} });
        made.push(o);
        return o;
      };
      const out = orig.kernelFunc({ inputs: { a: full(a), b: full(b) }, backend, attrs });
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    }
    kernelFunc.isBenchFix = true;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...orig, kernelFunc });
    any = true;
  }
  return any;
}

/** All fixes; returns the names of the kernels replaced. */
export function installWasmFixes(tf) {
  const done = [];
  if (installWasmMatMulFix(tf)) done.push('BatchMatMul');
  if (installWasmConvBackpropInputFix(tf)) done.push('Conv2DBackpropInput');
  if (installWasmComparisonFix(tf)) done.push(...COMPARISONS);
  return done;
}

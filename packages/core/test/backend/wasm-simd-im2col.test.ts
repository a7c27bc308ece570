// Core's im2col / col2im for the wasm conv2d gradients (src/backend/wasm-simd-im2col.ts), run
// directly on a WebAssembly.Memory against JS loops: im2col exactly, col2im bit-exact against the
// same order of float32 adds, over odd geometries (strides 1–3, pads that hang windows wholly off the
// image), nothing written outside the target, and on a shared memory (the threaded build's heap).
// The kernels that use them: wasm-kernels.test.ts.
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/rng.js';
import { IM2COL_MODULE_BYTES, simdIm2col, type ConvGeometry } from '../../src/backend/wasm-simd-im2col.js';

const f32 = Math.fround;
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

function geometry(b: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number, bottom: number, right: number): ConvGeometry & { b: number } {
  const oh = Math.floor((h + top + bottom - kh) / sh) + 1;
  const ow = Math.floor((w + left + right - kw) / sw) + 1;
  return { b, h, w, c, oh, ow, kh, kw, sh, sw, top, left };
}

/** The pixel (b, iy, ix) that column (kh, kw) of output position (b, oy, ox) sees, or -1 outside. */
function walk(g: ConvGeometry & { b: number }, visit: (p: number, col: number, px: number) => void) {
  const { b: nb, h, w, oh, ow, kh, kw, sh, sw, top, left } = g;
  for (let b = 0; b < nb; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const [iy, ix] = [oy * sh + y - top, ox * sw + x - left];
            const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            visit((b * oh + oy) * ow + ox, y * kw + x, inside ? (b * h + iy) * w + ix : -1);
          }
}

const GEOMETRIES = [
  geometry(2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1), // 'same', odd sizes
  geometry(1, 9, 8, 5, 4, 4, 2, 2, 1, 1, 2, 2), // stride 2, uneven padding
  geometry(3, 7, 6, 2, 2, 3, 3, 2, 0, 0, 0, 0), // 'valid', strides 3 × 2
  geometry(1, 3, 3, 1, 5, 5, 1, 3, 4, 4, 4, 4), // windows wholly outside the image
  geometry(2, 6, 6, 9, 1, 1, 2, 1, 0, 0, 0, 0), // 1×1, channel tail after two vectors
];

describe('im2col / col2im (wasm-simd-im2col)', () => {
  it('fits a synchronous browser compile (modules under 4 KB)', () => {
    expect(IM2COL_MODULE_BYTES).toBeLessThan(4096);
  });

  for (const shared of [false, true]) {
    it(`im2col copies windows exactly and col2im adds them back in a fixed order (${shared ? 'shared' : 'plain'} memory)`, () => {
      const memory = new WebAssembly.Memory(shared ? { initial: 4, maximum: 4, shared: true } : { initial: 4 });
      const fns = simdIm2col(memory)!;
      expect(fns).toBeDefined();
      const rng = new Rng(5);
      for (const g of GEOMETRIES) {
        const { b, h, w, c, oh, ow, kh, kw } = g;
        const nx = b * h * w * c;
        const ncols = b * oh * ow * kh * kw * c;
        const x = rng.uniformArray(nx, -1, 1);
        const dcols = rng.uniformArray(ncols, -1, 1);
        // JS references: cols, and dx summed over (b, oy, ox, kh, kw) in order.
        const cols = new Float32Array(ncols);
        const dx = new Float32Array(nx);
        walk(g, (p, col, px) => {
          for (let k = 0; k < c; k++) {
            const at = (p * kh * kw + col) * c + k;
            if (px >= 0) {
              cols[at] = x[px * c + k]!;
              dx[px * c + k] = f32(dx[px * c + k]! + dcols[at]!);
            }
          }
        });
        const heap = new Float32Array(memory.buffer);
        const [xAt, colsAt] = [5, 5 + nx + 7];
        const guard = (at: number, n: number) => [...heap.subarray(at - 3, at), ...heap.subarray(at + n, at + n + 3)].every(Number.isNaN);
        heap.fill(NaN);
        heap.set(x, xAt);
        // in two calls (rows split unevenly), as the kernels chunk the batch
        const rows = b * oh;
        const cut = Math.floor(rows / 3);
        fns.im2col(4 * xAt, 4 * colsAt, g, 0, cut);
        fns.im2col(4 * xAt, 4 * (colsAt + cut * ow * kh * kw * c), g, cut, rows - cut);
        expect(bits(heap.slice(colsAt, colsAt + ncols))).toEqual(bits(cols));
        expect(guard(colsAt, ncols)).toBe(true);
        heap.fill(NaN);
        heap.set(dcols, colsAt);
        heap.fill(0, xAt, xAt + nx);
        fns.col2im(4 * colsAt, 4 * xAt, g, 0, cut);
        fns.col2im(4 * (colsAt + cut * ow * kh * kw * c), 4 * xAt, g, cut, rows - cut);
        expect(bits(heap.slice(xAt, xAt + nx))).toEqual(bits(dx));
        expect(guard(xAt, nx)).toBe(true);
        // add: dst += src, vectors and tail
        const [a, s] = [rng.uniformArray(11, -1, 1), rng.uniformArray(11, -1, 1)];
        heap.fill(NaN);
        heap.set(a, 3);
        heap.set(s, 20);
        fns.add(12, 80, 11);
        expect(bits(heap.slice(3, 14))).toEqual(bits(a.map((v, i) => f32(v + s[i]!))));
        expect(guard(3, 11)).toBe(true);
      }
    });
  }
});

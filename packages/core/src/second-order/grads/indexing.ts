// Slicing, gathering, tiling, padding, scans, pixel shuffle and top-k.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { type T } from './util.js';

interface StridedSliceAttrs {
  begin: number[];
  end: number[];
  strides: number[];
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
}

// StridedSlice picks x[begin + k*stride] per axis; its gradient scatters dy back with reshape,
// pad, slice and reverse only (all differentiable), axis by axis.
export const stridedSliceGrad: GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const a = attrs as unknown as StridedSliceAttrs;
    return {
      x: () => {
        const shape = x!.shape;
        const info = tf.slice_util.sliceInfo(
          shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask,
        );
        const dense = info.finalShapeSparse;
        if (dense.some((d: number) => d === 0)) return tf.zerosLike(x!);
        let g = tf.reshape(dy as T, dense);
        for (let ax = 0; ax < shape.length; ax++) {
          const n = dense[ax]!;
          let s = info.strides[ax]!;
          let b = info.begin[ax]!;
          if (s < 0) {
            g = tf.reverse(g, ax);
            s = -s;
            b = b - (n - 1) * s;
          }
          if (s > 1) {
            // Interleave s-1 zeros after each element along ax.
            const cur = g.shape;
            const split = [...cur.slice(0, ax + 1), 1, ...cur.slice(ax + 1)];
            const pads = split.map((_, i) => [0, i === ax + 1 ? s - 1 : 0] as [number, number]);
            g = tf.pad(tf.reshape(g, split), pads);
            const merged = [...cur];
            merged[ax] = n * s;
            g = tf.reshape(g, merged);
            const size = [...merged];
            size[ax] = (n - 1) * s + 1;
            g = tf.slice(g, merged.map(() => 0), size);
          }
          const len = (n - 1) * s + 1;
          const after = shape[ax]! - b - len;
          if (b !== 0 || after !== 0) {
            g = tf.pad(g, g.shape.map((_, i) => (i === ax ? [b, after] : [0, 0]) as [number, number]));
          }
        }
        return g;
      },
    };
  },
};

export const gatherNdGrad: GradConfig = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, [params, indices]) => ({
    params: () => tf.scatterND(indices!, dy as T, params!.shape),
    indices: () => tf.zeros(indices!.shape, 'float32'),
  }),
};

export const scatterNdGrad: GradConfig = {
  kernelName: 'ScatterNd',
  inputsToSave: ['indices'],
  gradFunc: (ddx, [indices]) => ({
    updates: () => tf.gatherND(ddx as T, indices!),
    indices: () => tf.zeros(indices!.shape, 'float32'),
  }),
};

// tfjs' Tile gradient stops at rank 4; a reshape + sum works at any rank.
export const tileGrad: GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { reps } = attrs as unknown as { reps: number[] };
    return {
      x: () => {
        const split: number[] = [];
        const axes: number[] = [];
        x!.shape.forEach((d, i) => {
          axes.push(split.length);
          split.push(reps[i]!, d);
        });
        return tf.sum(tf.reshape(dy as T, split), axes);
      },
    };
  },
};

// DepthToSpace (pixel shuffle) has no gradient in tfjs 4.22. It only moves values:
// y[b, i·s + di, j·s + dj, c] = x[b, i, j, (di·s + dj)·C + c], so dx gathers dy back (NHWC).
export const depthToSpaceGrad: GradConfig = {
  kernelName: 'DepthToSpace',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { blockSize: bs, dataFormat } = attrs as unknown as { blockSize: number; dataFormat: string };
    if (dataFormat !== 'NHWC') throw new Error(`depthToSpace gradient: dataFormat ${dataFormat} is not supported (use NHWC)`);
    const [n, h, w, c] = x!.shape as number[];
    return {
      x: () => tf.reshape(tf.transpose(tf.reshape(dy as T, [n!, h!, bs, w!, bs, c! / (bs * bs)]), [0, 1, 3, 2, 4, 5]), x!.shape),
    };
  },
};

// TopK has no gradient in tfjs 4.22: each value's gradient goes to the entry it was taken from
// (the indices are piecewise constant, so saving that output is harmless at any order).
export const topKGrad: GradConfig = {
  kernelName: 'TopK',
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dys, [x, indices]) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as T;
    const n = x!.shape[x!.rank - 1]!;
    return { x: () => tf.sum(tf.mul(tf.oneHot(indices as tf.Tensor, n), tf.expandDims(dy, -1)), -2) };
  },
};

// MirrorPad: tfjs 4.22's gradient only slices out the centre of dy, dropping every reflected copy
// (wrong already at first order). Fold each padded border back onto the entries it copies, one
// axis at a time: reflect copies x[before - p] to border position p, symmetric x[before - 1 - p].
export const mirrorPadGrad: GradConfig = {
  kernelName: 'MirrorPad',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { paddings, mode } = attrs as unknown as { paddings: Array<[number, number]>; mode: 'reflect' | 'symmetric' };
    const off = mode === 'reflect' ? 1 : 0;
    return {
      x: () => {
        let g = dy as T;
        paddings.forEach(([before, after], axis) => {
          if (before === 0 && after === 0) return;
          const n = x!.shape[axis]!;
          const part = (start: number, size: number) => {
            const begin = g.shape.map((_, i) => (i === axis ? start : 0));
            return tf.slice(g, begin, g.shape.map((d, i) => (i === axis ? size : d)));
          };
          const padAlong = (t: T, lo: number, hi: number) => tf.pad(t, t.shape.map((_, i): [number, number] => (i === axis ? [lo, hi] : [0, 0])));
          const terms = [part(before, n)];
          if (before > 0) terms.push(padAlong(tf.reverse(part(0, before), axis), off, n - before - off));
          if (after > 0) terms.push(padAlong(tf.reverse(part(before + n, after), axis), n - after - off, off));
          g = terms.length === 1 ? terms[0]! : tf.addN(terms);
        });
        return g;
      },
    };
  },
};

// Cumsum: tfjs 4.22's gradient transposes its (already correctly laid out) result whenever the
// axis is not the last one: a shape error, or a silently transposed gradient for square inputs.
export const cumsumGrad: GradConfig = {
  kernelName: 'Cumsum',
  gradFunc: (dy, _saved, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return { x: () => tf.cumsum(dy as T, axis, exclusive, !reverse) };
  },
};

// Cumprod has no gradient in tfjs 4.22, and Prod's gradient is written with it, so tf.prod and
// tf.cumprod stop at first order. TensorFlow's formula, with y recomputed from x (not saved):
// dx = cumsum(dy·y, reversed direction) / x. Like TensorFlow's, it is NaN where x = 0.
export const cumprodGrad: GradConfig = {
  kernelName: 'Cumprod',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return {
      x: () => {
        const y = tf.cumprod(x!, axis, exclusive, reverse);
        return tf.div(tf.cumsum(tf.mul(dy as T, y), axis, exclusive, !reverse), x!);
      },
    };
  },
};

// PNG previews of data: frame grids for video batches, line plots for state batches.
import { frameGrid, imageToPng, linePlot, type FrameGridOptions, type PlotSeries, type RgbaImage, type Batch, type tf } from '@noether/core';
import { atomicWriteFile } from './fs-util.js';

/** Writes frames[row][col] (H×W×C in [0, 1]) as one PNG grid. */
export function writeFramesPng(path: string, frames: ArrayLike<number>[][], opts: FrameGridOptions): void {
  atomicWriteFile(path, imageToPng(frameGrid(frames, opts)));
}

export interface BatchImageOptions {
  /** At most this many examples (rows) and timesteps (columns). */
  maxRows?: number;
  maxCols?: number;
  /** Nearest-neighbour magnification of each frame. */
  scale?: number;
  pad?: number;
  title?: string;
}

/**
 * An image of a batch: obs [B, T, H, W, C] becomes a grid (one row per example,
 * one column per timestep); obs [B, T, D] a line plot of every state dimension
 * of the first examples over time. Reads the tensor; does not dispose it.
 */
export function batchImage(obs: tf.Tensor, opts: BatchImageOptions = {}): RgbaImage {
  const shape = obs.shape;
  const data = obs.dataSync() as Float32Array;
  const [B, T] = [shape[0]!, shape[1]!];
  const rows = Math.min(B, opts.maxRows ?? 8);
  if (shape.length === 5) {
    const [H, W, C] = [shape[2]!, shape[3]!, shape[4]!];
    const per = H * W * C;
    const cols = Math.min(T, opts.maxCols ?? 30);
    const frames = Array.from({ length: rows }, (_, b) => Array.from({ length: cols }, (_, t) => data.subarray((b * T + t) * per, (b * T + t + 1) * per)));
    return frameGrid(frames, { height: H, width: W, channels: C, scale: opts.scale, pad: opts.pad });
  }
  if (shape.length === 3) {
    const D = shape[2]!;
    const series: PlotSeries[] = [];
    const x = Array.from({ length: T }, (_, t) => t);
    for (let b = 0; b < Math.min(rows, 4); b++) {
      for (let d = 0; d < D; d++) series.push({ name: `#${b} x${d}`, x, y: x.map((t) => data[(b * T + t) * D + d]!) });
    }
    return linePlot({ series, title: opts.title, xLabel: 'step', yLabel: 'state' });
  }
  throw new Error(`batchImage: obs must be [B, T, H, W, C] frames or [B, T, D] states, got shape [${shape.join(', ')}]`);
}

/** Writes batchImage(batch.obs) as a PNG file (atomically). */
export function writeBatchPng(path: string, batch: Batch, opts: BatchImageOptions = {}): void {
  atomicWriteFile(path, imageToPng(batchImage(batch.obs, opts)));
}

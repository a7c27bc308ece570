// Frame grids: rows of image sequences (e.g. ground truth over predictions) laid
// out with padding, for PNG previews of video batches.
import { GLYPH_HEIGHT, textWidth } from './font.js';
import { Canvas, type Rgb, type RgbaImage } from './image.js';

export interface FrameGridOptions {
  /** Frame height, width and channels (1 grey, 3 RGB, 4 RGBA); frames are H×W×C row-major in [0, 1]. */
  height: number;
  width: number;
  channels: number;
  /** Pixels between frames and around the border (default 2). */
  pad?: number;
  /** Colour of padding and of empty cells (rows shorter than the longest). Default white. */
  background?: Rgb;
  /** Integer nearest-neighbour magnification (default 1). */
  scale?: number;
  /** A caption left of each row (e.g. 'ground truth', a model's name), so the image reads on its own. */
  rowLabels?: readonly string[];
  /** A caption above each column (e.g. 't+1', 'PC1'). */
  colLabels?: readonly string[];
}

const LABEL_GAP = 6;
const BLACK: Rgb = [0, 0, 0];

/** Lays frames[row][col] out as a grid. Rows may differ in length. */
export function frameGrid(frames: ArrayLike<number>[][], opts: FrameGridOptions): RgbaImage {
  const { height: h, width: w, channels: c } = opts;
  const pad = opts.pad ?? 2;
  const scale = opts.scale ?? 1;
  if (![1, 3, 4].includes(c)) throw new Error(`frameGrid: channels must be 1, 3 or 4, got ${c}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`frameGrid: scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`frameGrid: pad must be a non-negative integer, got ${pad}`);
  const rows = frames.length;
  const cols = Math.max(0, ...frames.map((r) => r.length));
  if (rows === 0 || cols === 0) throw new Error('frameGrid: no frames given');
  const fw = w * scale;
  const fh = h * scale;
  if (opts.rowLabels && opts.rowLabels.length !== rows) throw new Error(`frameGrid: ${opts.rowLabels.length} row labels for ${rows} rows`);
  if (opts.colLabels && opts.colLabels.length !== cols) throw new Error(`frameGrid: ${opts.colLabels.length} column labels for ${cols} columns`);
  // Margins for the captions: the longest row label on the left, one text line on top.
  const left = opts.rowLabels?.length ? Math.max(...opts.rowLabels.map((l) => textWidth(l))) + LABEL_GAP : 0;
  const top = opts.colLabels?.length ? GLYPH_HEIGHT + LABEL_GAP : 0;
  const canvas = new Canvas(left + pad + cols * (fw + pad), top + pad + rows * (fh + pad), opts.background ?? [1, 1, 1]);
  const out = canvas.rgba;
  opts.rowLabels?.forEach((l, ri) => canvas.text(LABEL_GAP / 2, top + pad + ri * (fh + pad) + Math.floor((fh - GLYPH_HEIGHT) / 2), l, BLACK));
  opts.colLabels?.forEach((l, ci) => canvas.text(left + pad + ci * (fw + pad) + Math.max(0, Math.floor((fw - textWidth(l)) / 2)), LABEL_GAP / 2, l, BLACK));
  frames.forEach((row, ri) => {
    row.forEach((f, ci) => {
      if (f.length !== h * w * c) {
        throw new Error(`frameGrid: frame [${ri}][${ci}] has ${f.length} values, expected ${h}×${w}×${c} = ${h * w * c}`);
      }
      const x0 = left + pad + ci * (fw + pad);
      const y0 = top + pad + ri * (fh + pad);
      for (let y = 0; y < fh; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < fw; x++) {
          const s = (sy * w + Math.floor(x / scale)) * c;
          const o = 4 * ((y0 + y) * canvas.width + x0 + x);
          const byte = (v: number) => (Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0);
          const r = byte(f[s]!);
          out[o] = r;
          out[o + 1] = c === 1 ? r : byte(f[s + 1]!);
          out[o + 2] = c === 1 ? r : byte(f[s + 2]!);
          out[o + 3] = c === 4 ? byte(f[s + 3]!) : 255;
        }
      }
    });
  });
  return { rgba: canvas.rgba, width: canvas.width, height: canvas.height };
}

// Pure image utilities (no Node APIs): PNG encoding, frame grids and line plots.
export { encodePng, crc32, adler32 } from './png.js';
export { Canvas, type Rgb, type RgbaImage, type Rect } from './image.js';
export { frameGrid, type FrameGridOptions } from './grid.js';
export { linePlot, niceTicks, formatTick, PALETTE, type LinePlotOptions, type PlotSeries } from './plot.js';
export { textWidth } from './font.js';
import { encodePng } from './png.js';
import type { RgbaImage } from './image.js';

/** PNG bytes of an image from frameGrid or linePlot. */
export function imageToPng(img: RgbaImage): Uint8Array {
  return encodePng(img.rgba, img.width, img.height);
}

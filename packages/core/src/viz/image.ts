// An RGBA raster with the few drawing operations plots and frame grids need.
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

/** Colour as [r, g, b] in [0, 1]. */
export type Rgb = readonly [number, number, number];

export interface RgbaImage {
  /** width × height × 4 bytes, row-major, top row first. */
  rgba: Uint8Array;
  width: number;
  height: number;
}

const toByte = (v: number): number => (Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0);

export class Canvas implements RgbaImage {
  readonly rgba: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [1, 1, 1],
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`Canvas: size must be positive integers, got ${width}×${height}`);
    }
    this.rgba = new Uint8Array(width * height * 4);
    const [r, g, b] = background.map(toByte) as [number, number, number];
    for (let i = 0; i < width * height; i++) {
      this.rgba[4 * i] = r;
      this.rgba[4 * i + 1] = g;
      this.rgba[4 * i + 2] = b;
      this.rgba[4 * i + 3] = 255;
    }
  }

  /** Blends colour over pixel (x, y) with opacity alpha; outside pixels are ignored. */
  blend(x: number, y: number, c: Rgb, alpha = 1): void {
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = 4 * (y * this.width + x);
    for (let k = 0; k < 3; k++) this.rgba[i + k] = Math.round(this.rgba[i + k]! * (1 - alpha) + toByte(c[k]!) * alpha);
  }

  fillRect(x0: number, y0: number, w: number, h: number, c: Rgb, alpha = 1): void {
    for (let y = Math.floor(y0); y < Math.floor(y0 + h); y++) {
      for (let x = Math.floor(x0); x < Math.floor(x0 + w); x++) this.blend(x, y, c, alpha);
    }
  }

  /** A line of the given thickness (square brush), clipped to an optional rectangle. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, clip?: Rect): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const lo = -Math.floor((thickness - 1) / 2);
    const hi = lo + thickness;
    // Stamp each covered pixel once, so translucent colours do not darken where steps overlap.
    const seen = new Set<number>();
    for (let s = 0; s <= steps; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      for (let dy = lo; dy < hi; dy++) {
        for (let dx = lo; dx < hi; dx++) {
          const px = x + dx;
          const py = y + dy;
          if (clip && (px < clip.x || py < clip.y || px >= clip.x + clip.w || py >= clip.y + clip.h)) continue;
          const key = py * this.width + px;
          if (seen.has(key)) continue;
          seen.add(key);
          this.blend(px, py, c);
        }
      }
    }
  }

  /** Text with its top-left corner at (x, y); vertical text reads bottom to top. */
  text(x: number, y: number, s: string, c: Rgb, scale = 1, vertical = false): void {
    for (let i = 0; i < s.length; i++) {
      const rows = glyph(s[i]!);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (!((rows[r]! >> (GLYPH_WIDTH - 1 - col)) & 1)) continue;
          const gx = i * GLYPH_ADVANCE + col;
          // Rotated 90° anticlockwise: glyph x runs up the page, glyph y runs right.
          const px = vertical ? x + r * scale : x + gx * scale;
          const py = vertical ? y - (gx + 1) * scale + 1 : y + r * scale;
          this.fillRect(px, py, scale, scale, c);
        }
      }
    }
  }
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

// A minimal line-plot rasteriser (axes, ticks, legend, optional bands and log y)
// so training curves and metric-vs-horizon plots can be written as PNG anywhere.
import { GLYPH_HEIGHT, textWidth } from './font.js';
import { Canvas, type Rect, type Rgb, type RgbaImage } from './image.js';

export interface PlotSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A shaded band (e.g. mean ± standard error), same length as x. */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
  /** Line colour; defaults to the palette entry of the series index. */
  color?: Rgb;
}

export interface LinePlotOptions {
  series: PlotSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  width?: number;
  height?: number;
}

/** The matplotlib "tab10" colours, so plots look familiar. */
export const PALETTE: readonly Rgb[] = [
  [0.122, 0.467, 0.706],
  [1.0, 0.498, 0.055],
  [0.173, 0.627, 0.173],
  [0.839, 0.153, 0.157],
  [0.58, 0.404, 0.741],
  [0.549, 0.337, 0.294],
  [0.89, 0.467, 0.761],
  [0.498, 0.498, 0.498],
  [0.737, 0.741, 0.133],
  [0.09, 0.745, 0.812],
];

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [0.85, 0.85, 0.85];

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Integer multiples of the step, rounded to 12 digits so 3 × 0.2 prints as 0.6.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

/** Short tick label: plain for ordinary magnitudes, exponent form otherwise. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(1).split('e');
    return `${m!.replace(/\.0$/, '')}E${e!.replace('+', '')}`;
  }
  return String(Number(v.toPrecision(4)));
}

function finiteRange(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
  return [lo, hi];
}

export function linePlot(opts: LinePlotOptions): RgbaImage {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const canvas = new Canvas(width, height);
  const logY = opts.logY ?? false;
  for (const s of opts.series) {
    if (s.x.length !== s.y.length) throw new Error(`linePlot: series '${s.name}' has ${s.x.length} x values and ${s.y.length} y values`);
    if (s.band && (s.band.lo.length !== s.x.length || s.band.hi.length !== s.x.length)) {
      throw new Error(`linePlot: series '${s.name}' band must have ${s.x.length} lo and hi values`);
    }
  }
  // Values in plot space (log10 for a log axis; non-positive values drop out there).
  const ty = (v: number) => (logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const xs = opts.series.flatMap((s) => Array.from(s.x));
  const ys = opts.series.flatMap((s) => [...Array.from(s.y), ...(s.band ? [...Array.from(s.band.lo), ...Array.from(s.band.hi)] : [])].map(ty));
  let [x0, x1] = finiteRange(xs);
  let [y0, y1] = finiteRange(ys);
  const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1);
  const xTicks = niceTicks(x0, x1, 6);
  if (!logY) {
    y0 = Math.min(y0, yTicks[0]!);
    y1 = Math.max(y1, yTicks[yTicks.length - 1]!);
  }
  x0 = Math.min(x0, xTicks[0]!);
  x1 = Math.max(x1, xTicks[xTicks.length - 1]!);

  const yLabels = yTicks.map((t) => (logY ? formatTick(10 ** t) : formatTick(t)));
  const left = 14 + (opts.yLabel ? 12 : 0) + Math.max(...yLabels.map((l) => textWidth(l)));
  const top = opts.title ? 26 : 12;
  const bottom = 24 + (opts.xLabel ? 14 : 0);
  const area: Rect = { x: left, y: top, w: width - left - 14, h: height - top - bottom };
  if (area.w < 20 || area.h < 20) throw new Error(`linePlot: ${width}×${height} is too small for the axes and labels`);
  const px = (x: number) => area.x + ((x - x0) / (x1 - x0)) * (area.w - 1);
  const py = (y: number) => area.y + area.h - 1 - ((y - y0) / (y1 - y0)) * (area.h - 1);

  // Grid, ticks and tick labels.
  yTicks.forEach((t, i) => {
    const y = Math.round(py(t));
    if (y < area.y || y >= area.y + area.h) return;
    canvas.line(area.x, y, area.x + area.w - 1, y, GREY);
    canvas.line(area.x - 4, y, area.x - 1, y, BLACK);
    canvas.text(area.x - 6 - textWidth(yLabels[i]!), y - 3, yLabels[i]!, BLACK);
  });
  xTicks.forEach((t) => {
    const x = Math.round(px(t));
    if (x < area.x || x >= area.x + area.w) return;
    canvas.line(x, area.y, x, area.y + area.h - 1, GREY);
    canvas.line(x, area.y + area.h, x, area.y + area.h + 3, BLACK);
    const l = formatTick(t);
    canvas.text(x - Math.floor(textWidth(l) / 2), area.y + area.h + 6, l, BLACK);
  });

  // Bands first, lines over them.
  opts.series.forEach((s, si) => {
    if (!s.band) return;
    const c = s.color ?? PALETTE[si % PALETTE.length]!;
    const order = sortedIndex(s.x);
    for (let k = 0; k + 1 < order.length; k++) {
      const a = order[k]!;
      const b = order[k + 1]!;
      const xa = Number(s.x[a]);
      const xb = Number(s.x[b]);
      const ca = Math.round(px(xa));
      const cb = Math.round(px(xb));
      // Each column belongs to one segment (the last one owns its right edge), so alpha never stacks.
      for (let col = ca; col < cb || (k + 2 === order.length && col === cb); col++) {
        const f = cb === ca ? 0 : (col - ca) / (cb - ca);
        const lo = ty(Number(s.band.lo[a]) * (1 - f) + Number(s.band.lo[b]) * f);
        const hi = ty(Number(s.band.hi[a]) * (1 - f) + Number(s.band.hi[b]) * f);
        if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
        const ya = Math.max(area.y, Math.round(py(hi)));
        const yb = Math.min(area.y + area.h - 1, Math.round(py(lo)));
        if (col < area.x || col >= area.x + area.w) continue;
        for (let y = ya; y <= yb; y++) canvas.blend(col, y, c, 0.25);
      }
    }
  });
  opts.series.forEach((s, si) => {
    const c = s.color ?? PALETTE[si % PALETTE.length]!;
    const order = sortedIndex(s.x);
    let prev: [number, number] | undefined;
    for (const i of order) {
      const y = ty(Number(s.y[i]));
      const x = Number(s.x[i]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        prev = undefined; // a gap, not a line across missing values
        continue;
      }
      const p: [number, number] = [px(x), py(y)];
      if (prev) canvas.line(prev[0], prev[1], p[0], p[1], c, 2, area);
      else if (order.length === 1) canvas.fillRect(p[0] - 1, p[1] - 1, 3, 3, c);
      prev = p;
    }
  });

  // Axes, title, labels, legend.
  canvas.line(area.x - 1, area.y, area.x - 1, area.y + area.h, BLACK);
  canvas.line(area.x - 1, area.y + area.h, area.x + area.w - 1, area.y + area.h, BLACK);
  if (opts.title) canvas.text(Math.round(width / 2 - textWidth(opts.title, 2) / 2), 5, opts.title, BLACK, 2);
  if (opts.xLabel) canvas.text(Math.round(area.x + area.w / 2 - textWidth(opts.xLabel) / 2), height - 11, opts.xLabel, BLACK);
  if (opts.yLabel) canvas.text(3, Math.round(area.y + area.h / 2 + textWidth(opts.yLabel) / 2), opts.yLabel, BLACK, 1, true);
  const named = opts.series.map((s, i) => ({ s, c: s.color ?? PALETTE[i % PALETTE.length]! })).filter(({ s }) => s.name);
  if (named.length > 0) {
    const lw = 22 + Math.max(...named.map(({ s }) => textWidth(s.name)));
    const lh = named.length * (GLYPH_HEIGHT + 5) + 5;
    const lx = area.x + area.w - lw - 6;
    const ly = area.y + 6;
    canvas.fillRect(lx, ly, lw, lh, [1, 1, 1], 0.85);
    named.forEach(({ s, c }, i) => {
      const y = ly + 5 + i * (GLYPH_HEIGHT + 5);
      canvas.fillRect(lx + 4, y + 2, 12, 3, c);
      canvas.text(lx + 20, y, s.name, BLACK);
    });
  }
  return { rgba: canvas.rgba, width: canvas.width, height: canvas.height };
}

/**
 * Log-axis ticks (in log10 units): decades, or 1-2-5 steps when the range is under two decades,
 * or, when those give fewer than three ticks (a range within a factor of about 2.5, as a loss
 * curve over a few hundred steps), evenly spaced nice values, so the axis can still be read.
 */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const few = hi - lo < 2;
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of few ? [1, 2, 5] : [1]) {
      const t = e + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  if (out.length >= 3) return out;
  const linear = niceTicks(10 ** lo, 10 ** hi, 6).filter((v) => v > 0).map(Math.log10).filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  return linear.length > out.length ? linear : out.length > 0 ? out : [lo];
}

function sortedIndex(x: ArrayLike<number>): number[] {
  return Array.from({ length: x.length }, (_, i) => i).sort((a, b) => Number(x[a]) - Number(x[b]));
}

import { describe, it, expect } from 'vitest';
import { inflateSync } from 'node:zlib';
import { adler32, crc32, encodePng, frameGrid, imageToPng, linePlot, niceTicks, PALETTE } from '../src/index.js';
import { logTicks } from '../src/viz/plot.js';

/** Parses a PNG back: checks signature, every chunk CRC, IHDR, and returns the RGBA pixels. */
function decodePng(png: Uint8Array): { width: number; height: number; rgba: Uint8Array; chunks: string[] } {
  const buf = Buffer.from(png);
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  while (o < buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.subarray(o + 4, o + 8).toString('ascii');
    const data = buf.subarray(o + 8, o + 8 + len);
    expect(buf.readUInt32BE(o + 8 + len)).toBe(crc32(buf.subarray(o + 4, o + 8 + len)));
    chunks.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat)); // also verifies the adler32 trailer
  expect(raw.length).toBe((width * 4 + 1) * height);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, rgba, chunks };
}

const px = (img: { rgba: Uint8Array; width: number }, x: number, y: number) => [...img.rgba.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 4)];

describe('viz: checksums and PNG', () => {
  it('crc32 and adler32 match the standard check values', () => {
    const s = new TextEncoder().encode('123456789');
    expect(crc32(s)).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  it('round-trips pixels through zlib: repetitive, noisy and far-back matches, tiny and large', () => {
    let seed = 12345;
    const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24); // LCG: incompressible-ish bytes
    const cases: [number, number, (i: number) => number][] = [
      [1, 1, () => 7],
      [3, 2, (i) => (i * 7919) % 251],
      [200, 120, (i) => (i * 7919) % 251],
      [64, 64, () => noise()],
      // A white page with a pattern that recurs 40 000 bytes later (beyond the 32 KiB window) and
      // 20 000 bytes later (within it): long runs, long and short distances.
      [250, 100, (i) => (i % 40000 < 300 || (i >= 60000 && i < 60300) ? ((i % 300) * 31) % 256 : 255)],
    ];
    for (const [w, h, f] of cases) {
      const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => f(i));
      const out = decodePng(encodePng(rgba, w, h));
      expect(out.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect([out.width, out.height]).toEqual([w, h]);
      expect(Buffer.from(out.rgba).equals(Buffer.from(rgba))).toBe(true);
    }
  });

  it('compresses a typical plot (stored blocks made 640×400 exactly 1,024,543 bytes), deterministically', () => {
    const x = Array.from({ length: 200 }, (_, i) => i);
    const img = linePlot({ title: 'loss', xLabel: 'step', yLabel: 'mse', logY: true, series: [{ name: 'a', x, y: x.map((i) => Math.exp(-i / 50) + 0.01 * Math.sin(i)) }] });
    expect([img.width, img.height]).toEqual([640, 400]);
    const png = imageToPng(img);
    expect(png.length).toBeLessThan(30_000);
    expect(Buffer.from(decodePng(png).rgba).equals(Buffer.from(img.rgba))).toBe(true);
    expect(Buffer.from(imageToPng(img)).equals(Buffer.from(png))).toBe(true);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => encodePng(new Uint8Array(10), 2, 2)).toThrow(/expected 2×2×4 = 16 bytes, got 10/);
  });
});

describe('viz: frameGrid', () => {
  it('places each frame after the padding, row by row', () => {
    const frame = (r: number, g: number, b: number) => Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => [r, g, b][i % 3]!);
    const img = frameGrid([[frame(1, 0, 0), frame(0, 1, 0)], [frame(0, 0, 1)]], { height: 2, width: 3, channels: 3, pad: 1, background: [0.5, 0.5, 0.5] });
    expect([img.width, img.height]).toEqual([1 + 2 * (3 + 1), 1 + 2 * (2 + 1)]);
    expect(px(img, 0, 0)).toEqual([128, 128, 128, 255]); // border
    expect(px(img, 1, 1)).toEqual([255, 0, 0, 255]); // row 0 col 0
    expect(px(img, 3, 2)).toEqual([255, 0, 0, 255]);
    expect(px(img, 4, 1)).toEqual([128, 128, 128, 255]); // gap between columns
    expect(px(img, 5, 1)).toEqual([0, 255, 0, 255]); // row 0 col 1
    expect(px(img, 1, 4)).toEqual([0, 0, 255, 255]); // row 1 col 0
    expect(px(img, 5, 4)).toEqual([128, 128, 128, 255]); // missing cell stays background
  });

  it('keeps pixel order within a frame, scales grey frames and clamps', () => {
    const f = Float32Array.from([0, 0.5, 1, 2]); // 2×2 grey
    const img = frameGrid([[f]], { height: 2, width: 2, channels: 1, pad: 0, scale: 2 });
    expect([img.width, img.height]).toEqual([4, 4]);
    expect(px(img, 1, 1)).toEqual([0, 0, 0, 255]);
    expect(px(img, 2, 0)).toEqual([128, 128, 128, 255]);
    expect(px(img, 0, 3)).toEqual([255, 255, 255, 255]);
    expect(px(img, 3, 3)).toEqual([255, 255, 255, 255]);
    expect(() => frameGrid([[new Float32Array(3)]], { height: 2, width: 2, channels: 1 })).toThrow(/frame \[0\]\[0\] has 3 values, expected 2×2×1 = 4/);
  });

  it('captions rows on the left and columns on top, and moves the frames past them', () => {
    const f = new Float32Array(8 * 8).fill(0.5); // grey 8×8 frames on white; captions are black
    const opts = { height: 8, width: 8, channels: 1, pad: 1 };
    const plain = frameGrid([[f, f], [f, f]], opts);
    const img = frameGrid([[f, f], [f, f]], { ...opts, rowLabels: ['TRUTH', 'SVG'], colLabels: ['T+1', 'T+2'] });
    const left = 5 * 6 - 1 + 6; // 'TRUTH': 5 glyphs of advance 6, less the last spacing, then the gap
    const top = 7 + 6; // one line of text, then the gap
    expect([img.width, img.height]).toEqual([plain.width + left, plain.height + top]);
    expect(px(img, left + 1, top + 1)).toEqual([128, 128, 128, 255]); // first frame's first pixel
    expect(px(img, left, top + 1)).toEqual([255, 255, 255, 255]); // the pad before it
    const inked = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(img, x, y)[0] === 0) n++;
      return n;
    };
    expect(inked(0, top, left, top + 10)).toBeGreaterThan(10); // 'TRUTH' beside row 1
    expect(inked(left, 0, img.width, top)).toBeGreaterThan(10); // the column captions
    expect(() => frameGrid([[f, f]], { ...opts, rowLabels: ['a', 'b'] })).toThrow(/2 row labels for 1 rows/);
    expect(() => frameGrid([[f, f]], { ...opts, colLabels: ['a'] })).toThrow(/1 column labels for 2 columns/);
  });
});

describe('viz: log-axis ticks', () => {
  const values = (lo: number, hi: number) => logTicks(Math.log10(lo), Math.log10(hi)).map((t) => Number((10 ** t).toPrecision(6)));
  it('decades over a wide range, 1-2-5 over one or two decades', () => {
    expect(values(1e-5, 1)).toEqual([1e-5, 1e-4, 1e-3, 0.01, 0.1, 1]);
    expect(values(0.011, 0.6)).toEqual([0.02, 0.05, 0.1, 0.2, 0.5]);
  });
  it('at least three readable ticks inside a range within a factor of 2.5 (a loss over a few hundred steps)', () => {
    expect(values(0.145, 0.411)).toEqual([0.15, 0.2, 0.25, 0.3, 0.35, 0.4]);
    expect(values(2.926, 3.414)).toEqual([3, 3.1, 3.2, 3.3, 3.4]);
    expect(values(2.3, 3.41)).toEqual([2.4, 2.6, 2.8, 3, 3.2, 3.4]);
  });
});

describe('viz: linePlot', () => {
  const count = (img: { rgba: Uint8Array }, c: readonly number[]) => {
    const t = c.map((v) => Math.round(v * 255));
    let n = 0;
    for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === t[0] && img.rgba[i + 1] === t[1] && img.rgba[i + 2] === t[2]) n++;
    return n;
  };

  it('draws every series in its palette colour, with axes and a legend', () => {
    const x = [1, 2, 3, 4, 5];
    const img = linePlot({
      series: [
        { name: 'mlp', x, y: [1, 0.5, 0.3, 0.2, 0.1] },
        { name: 'noether', x, y: [0.9, 0.4, 0.2, 0.1, 0.05], band: { lo: [0.8, 0.3, 0.1, 0.05, 0.03], hi: [1, 0.5, 0.3, 0.15, 0.08] } },
      ],
      title: 'Loss',
      xLabel: 'step',
      yLabel: 'mse',
      logY: true,
      width: 320,
      height: 200,
    });
    expect([img.width, img.height]).toEqual([320, 200]);
    expect(count(img, PALETTE[0]!)).toBeGreaterThan(50);
    expect(count(img, PALETTE[1]!)).toBeGreaterThan(50);
    expect(count(img, [0, 0, 0])).toBeGreaterThan(200); // axes, ticks, text
    // The band is a translucent tint of series 2's colour: neither white nor the line colour.
    const tint = PALETTE[1]!.map((v) => Math.round(255 * 0.75 + v * 255 * 0.25));
    expect(count(img, tint.map((v) => v / 255))).toBeGreaterThan(20);
    expect(decodePng(imageToPng(img)).width).toBe(320);
  });

  it('puts a rising line lower-left to upper-right', () => {
    const img = linePlot({ series: [{ name: '', x: [0, 1], y: [0, 1] }], width: 200, height: 160 });
    const target = PALETTE[0]!.map((v) => Math.round(v * 255));
    const hits: [number, number][] = [];
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
      const p = px(img, x, y);
      if (p[0] === target[0] && p[1] === target[1] && p[2] === target[2]) hits.push([x, y]);
    }
    const left = hits.reduce((a, b) => (b[0] < a[0] ? b : a));
    const right = hits.reduce((a, b) => (b[0] > a[0] ? b : a));
    expect(right[0] - left[0]).toBeGreaterThan(100);
    expect(left[1] - right[1]).toBeGreaterThan(80);
  });

  it('nice ticks are 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97, 5)).toEqual([20, 40, 60, 80]);
  });
});

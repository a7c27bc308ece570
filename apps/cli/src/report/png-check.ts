// A cheap structural check of a PNG file before the report embeds it: the signature, the IHDR
// header, and every chunk's length and CRC (core's crc32, the one its encoder writes). It does not
// inflate the pixels: a file cut short or damaged fails these checks already.
import { crc32 } from '@noether/core';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bit depths each colour type allows (PNG spec, IHDR). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Why `bytes` is not a well-formed PNG file, or undefined when it is. */
export function pngProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return 'not a PNG file (no PNG signature)';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let idat = false;
  for (let first = true; ; first = false) {
    if (o + 12 > bytes.length) return `cut short: ends at byte ${bytes.length} before its IEND chunk`;
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) return `damaged: no chunk type at byte ${o + 4}`;
    if (o + 12 + len > bytes.length) return `cut short: the file ends at byte ${bytes.length}, inside its ${type} chunk (bytes ${o} to ${o + 12 + len})`;
    if (view.getUint32(o + 8 + len) !== crc32(bytes.subarray(o + 4, o + 8 + len))) return `damaged: the CRC of its ${type} chunk at byte ${o} does not match`;
    if (first) {
      if (type !== 'IHDR' || len !== 13) return `damaged: the first chunk is ${type} of ${len} bytes, not a 13-byte IHDR`;
      const [w, h, depth, colour] = [view.getUint32(o + 8), view.getUint32(o + 12), bytes[o + 16]!, bytes[o + 17]!];
      if (!w || !h) return `damaged: IHDR gives a ${w}×${h} image`;
      if (!DEPTHS[colour]?.includes(depth)) return `damaged: IHDR gives colour type ${colour} at bit depth ${depth}`;
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') return idat ? undefined : 'damaged: no IDAT chunk (no pixels)';
    o += 12 + len;
  }
}

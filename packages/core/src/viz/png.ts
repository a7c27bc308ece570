// A dependency-free PNG encoder (8-bit RGBA) with its own small deflate compressor, so it runs in a
// browser as well as in Node (no zlib).

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the PNG/zlib polynomial) of bytes, optionally continuing a previous crc. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Adler-32 checksum (the zlib stream trailer). */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 is the longest run before the sums can overflow 2^32 (zlib's NMAX).
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// DEFLATE (RFC 1951) tables: base value and extra bits of length codes 257..285 and distance codes 0..29.
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const WINDOW = 32768;
const MAX_MATCH = 258;
// Candidates tried per position: plots are long runs found at once, so a short chain loses little.
const MAX_CHAIN = 64;

/** Index of the last base ≤ v (the deflate code for a length or distance). */
function codeOf(bases: number[], v: number): number {
  let i = bases.length - 1;
  while (bases[i]! > v) i--;
  return i;
}

/**
 * A zlib stream (RFC 1950) holding one fixed-Huffman deflate block: greedy LZ77 over a 32 KiB
 * window with hash chains. Fixed codes need no code tables and suffice for plots and frame grids,
 * which are mostly repeats; deterministic, so equal input gives equal bytes.
 */
export function zlibDeflate(data: Uint8Array): Uint8Array {
  const n = data.length;
  // Every symbol costs at most 9 bits per input byte (a literal; a match costs less per byte).
  const out = new Uint8Array(2 + Math.ceil((n * 9 + 10) / 8) + 4);
  let o = 0;
  let acc = 0;
  let bits = 0;
  const put = (value: number, count: number) => {
    acc |= value << bits;
    bits += count;
    while (bits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  };
  // Huffman codes are sent most-significant bit first, unlike every other field.
  const putCode = (code: number, len: number) => {
    let r = 0;
    for (let k = 0; k < len; k++) r |= ((code >>> k) & 1) << (len - 1 - k);
    put(r, len);
  };
  const putSymbol = (s: number) => {
    if (s < 144) putCode(0x30 + s, 8);
    else if (s < 256) putCode(0x190 + s - 144, 9);
    else if (s < 280) putCode(s - 256, 7);
    else putCode(0xc0 + s - 280, 8);
  };

  out[o++] = 0x78; // deflate, 32 KiB window
  out[o++] = 0x01; // no preset dictionary, "fastest" level; (0x7801 % 31 === 0)
  put(1, 1); // BFINAL
  put(1, 2); // BTYPE = 01, fixed Huffman codes
  const head = new Int32Array(1 << 15).fill(-1);
  const prev = new Int32Array(WINDOW);
  const hash = (i: number) => ((data[i]! << 10) ^ (data[i + 1]! << 5) ^ data[i + 2]!) & 0x7fff;
  const insert = (i: number) => {
    if (i + 2 >= n) return;
    const h = hash(i);
    prev[i & (WINDOW - 1)] = head[h]!;
    head[h] = i;
  };
  for (let i = 0; i < n; ) {
    let best = 0;
    let dist = 0;
    if (i + 2 < n) {
      const maxLen = Math.min(MAX_MATCH, n - i);
      // prev[] slots are reused every WINDOW bytes, but only for positions already out of reach.
      for (let j = head[hash(i)]!, chain = MAX_CHAIN; j >= 0 && i - j <= WINDOW && chain > 0; j = prev[j & (WINDOW - 1)]!, chain--) {
        if (data[j + best] !== data[i + best]) continue;
        let l = 0;
        while (l < maxLen && data[j + l] === data[i + l]) l++;
        if (l > best) {
          best = l;
          dist = i - j;
          if (l === maxLen) break;
        }
      }
    }
    if (best >= 3) {
      const lc = codeOf(LEN_BASE, best);
      putSymbol(257 + lc);
      put(best - LEN_BASE[lc]!, LEN_EXTRA[lc]!);
      const dc = codeOf(DIST_BASE, dist);
      putCode(dc, 5);
      put(dist - DIST_BASE[dc]!, DIST_EXTRA[dc]!);
      for (const end = i + best; i < end; i++) insert(i);
    } else {
      putSymbol(data[i]!);
      insert(i++);
    }
  }
  putSymbol(256); // end of block
  if (bits > 0) put(0, 8 - bits);
  const ad = adler32(data);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out.slice(0, o);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes width × height RGBA pixels (row-major, 4 bytes each) as a PNG file. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`encodePng: expected ${width}×${height}×4 = ${width * height * 4} bytes, got ${rgba.length}`);
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  // compression 0, filter 0, interlace 0
  const stride = width * 4;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibDeflate(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

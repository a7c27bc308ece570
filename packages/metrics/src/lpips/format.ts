// The LPIPS weight manifest format (manifest.json + weights.bin) and its validation.
// fs-free: turns already-read bytes into a parameter record, so a browser can fetch
// the same two files and call lpipsParamsFromBytes.
import { z } from 'zod';
import { tf, type Params } from '@noether/core';
import { LPIPS_ALEX_SHAPES } from './network.js';

/** Environment variable naming the weights folder when none is passed (read by the Node loader,
 * '@noether/metrics/node'; here so that browser-safe code can name it too). */
export const LPIPS_WEIGHTS_ENV = 'NOETHER_LPIPS_WEIGHTS';

export const LPIPS_MANIFEST_FILE = 'manifest.json';
export const LPIPS_WEIGHTS_FILE = 'weights.bin';

const positiveTriple = z.array(z.number().positive().finite()).length(3);

export const lpipsManifestSchema = z.object({
  weights: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().positive()),
        dtype: z.literal('float32'),
      }),
    )
    .min(1),
  scaling: z.object({
    shift: z.array(z.number().finite()).length(3),
    scale: positiveTriple,
  }),
  spec: z.string().optional(),
  source: z.string().optional(),
});

export type LpipsManifest = z.infer<typeof lpipsManifestSchema>;

/** Tensors stored in weights.bin: every network tensor except the scaling constants (kept in the manifest). */
const STORED = Object.keys(LPIPS_ALEX_SHAPES).filter((n) => !n.startsWith('scaling/'));

/** Validates a parsed manifest.json; `file` names it in the errors. */
export function parseLpipsManifest(json: unknown, file: string): LpipsManifest {
  const r = lpipsManifestSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  field '${i.path.join('.') || '(root)'}': ${i.message}`);
    throw new Error(`${file}: not a valid LPIPS weight manifest:\n${lines.join('\n')}`);
  }
  const m = r.data;
  const seen = new Set<string>();
  m.weights.forEach((w, i) => {
    const want = LPIPS_ALEX_SHAPES[w.name];
    if (!want || w.name.startsWith('scaling/')) {
      throw new Error(
        `${file}: field 'weights.${i}.name': '${w.name}' is not an LPIPS v0.1 AlexNet tensor ` +
          `(expected ${STORED.join(', ')})`,
      );
    }
    if (seen.has(w.name)) throw new Error(`${file}: field 'weights.${i}.name': '${w.name}' appears twice`);
    seen.add(w.name);
    if (w.shape.length !== want.length || w.shape.some((d, j) => d !== want[j])) {
      throw new Error(`${file}: field 'weights.${i}.shape': [${w.shape}] for '${w.name}', expected [${want}]`);
    }
  });
  const missing = STORED.filter((n) => !seen.has(n));
  if (missing.length) throw new Error(`${file}: field 'weights': missing ${missing.join(', ')}`);
  return m;
}

/** Bytes weights.bin must hold for this manifest (float32, in manifest order). */
export function lpipsWeightBytes(m: LpipsManifest): number {
  return m.weights.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Builds the parameter record from a validated manifest and the bytes of
 * weights.bin (float32 little-endian, tensors back to back in manifest order).
 * Refuses a file of the wrong size (truncated or not matching) and non-finite values.
 * The caller owns the returned tensors (disposeParams when done).
 */
export function lpipsParamsFromBytes(m: LpipsManifest, bytes: Uint8Array, file: string): Params {
  const need = lpipsWeightBytes(m);
  if (bytes.byteLength !== need) {
    const what = bytes.byteLength < need ? 'truncated' : 'longer than the manifest describes';
    throw new Error(
      `${file}: ${what}: ${bytes.byteLength} bytes, the manifest needs ${need}; ` +
        `re-copy or re-convert the weights (packages/metrics/scripts/convert-lpips.py)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Params = {};
  let off = 0;
  try {
    for (const w of m.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const vals = new Float32Array(size);
      for (let i = 0; i < size; i++) vals[i] = view.getFloat32(off + 4 * i, true);
      const bad = vals.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${file}: tensor '${w.name}' holds a non-finite value at index ${bad}`);
      out[w.name] = tf.tensor(vals, w.shape, 'float32');
      off += 4 * size;
    }
    out['scaling/shift'] = tf.tensor1d(m.scaling.shift, 'float32');
    out['scaling/scale'] = tf.tensor1d(m.scaling.scale, 'float32');
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  }
  return out;
}

// Parameter trees and training state as a tfjs-style weights manifest plus one
// little-endian float32 binary. Pure (bytes in, bytes out): writing files
// atomically is the caller's job (apps/cli, datasets).
import { z } from 'zod';
import { tf } from './tf.js';
import type { Params } from './params.js';
import { validate } from './config.js';
import type { MetaState } from './algorithm/meta.js';

export const CHECKPOINT_FORMAT = 'noether-weights';
export const CHECKPOINT_VERSION = 1;

const WeightEntrySchema = z.strictObject({
  name: z.string().min(1),
  shape: z.array(z.int().min(0)),
  dtype: z.literal('float32'),
});

export const WeightsManifestSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  /** tfjs weights-manifest layout: groups of weights stored in the listed binary files. */
  weightsManifest: z.array(z.strictObject({ paths: z.array(z.string()).length(1), weights: z.array(WeightEntrySchema) })).length(1),
  /** Free-form metadata (step counts, config hash, ...). */
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type WeightsManifest = z.infer<typeof WeightsManifestSchema>;

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Serialises params (sorted by name) into a manifest and bytes. */
export function encodeParams(params: Params, meta: Record<string, unknown> = {}, binName = 'weights.bin'): { manifest: WeightsManifest; data: Uint8Array } {
  const names = Object.keys(params).sort();
  const total = names.reduce((n, k) => n + params[k]!.size, 0);
  const buf = new Float32Array(total);
  let off = 0;
  const weights = names.map((name) => {
    const t = params[name]!;
    buf.set(t.dataSync() as Float32Array, off);
    off += t.size;
    return { name, shape: [...t.shape], dtype: 'float32' as const };
  });
  return {
    manifest: { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, weightsManifest: [{ paths: [binName], weights }], meta },
    data: new Uint8Array(buf.buffer),
  };
}

/**
 * Reads params back. Refuses a manifest of another format or version, a binary of the
 * wrong length (truncated or padded), a NaN or infinite value, and — when `expected` is given — any missing,
 * extra or differently shaped tensor.
 */
export function decodeParams(rawManifest: unknown, data: Uint8Array, source = 'checkpoint', expected?: Params): { params: Params; meta: Record<string, unknown> } {
  const fmt = (rawManifest as { format?: unknown } | null)?.format;
  if (fmt !== CHECKPOINT_FORMAT) throw new CheckpointError(`${source}: not a Noether checkpoint (format ${JSON.stringify(fmt)}); expected "${CHECKPOINT_FORMAT}"`);
  const ver = (rawManifest as { version?: unknown }).version;
  if (ver !== CHECKPOINT_VERSION) throw new CheckpointError(`${source}: checkpoint version ${JSON.stringify(ver)} is not supported by this Noether (reads version ${CHECKPOINT_VERSION}); re-create it with this version`);
  let m: WeightsManifest;
  try {
    m = validate(WeightsManifestSchema, rawManifest, `${source} manifest`);
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
  const weights = m.weightsManifest[0]!.weights;
  const sizes = weights.map((w) => w.shape.reduce((a, b) => a * b, 1));
  const want = sizes.reduce((a, b) => a + b, 0) * 4;
  if (data.byteLength !== want) {
    throw new CheckpointError(`${source}: weights file has ${data.byteLength} bytes but the manifest describes ${want}: the file is ${data.byteLength < want ? 'truncated' : 'larger than described'}; use an intact checkpoint`);
  }
  const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  // Training stops at the first NaN/Inf and never saves one: such a value is damage, and loading it
  // would only turn every later number into NaN.
  const bad = floats.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    let i = 0;
    let start = 0;
    while (bad >= start + sizes[i]!) start += sizes[i++]!;
    throw new CheckpointError(`${source}: '${weights[i]!.name}' holds ${floats[bad]} (element ${bad - start}): the weights are corrupt; use an intact checkpoint`);
  }
  const params: Params = {};
  let off = 0;
  weights.forEach((w, i) => {
    params[w.name] = tf.tensor(floats.subarray(off, off + sizes[i]!), w.shape);
    off += sizes[i]!;
  });
  if (expected) {
    const problems: string[] = [];
    for (const [k, t] of Object.entries(expected)) {
      const got = params[k];
      if (!got) problems.push(`missing '${k}'`);
      else if (got.shape.join('x') !== t.shape.join('x')) problems.push(`'${k}' has shape [${got.shape}] but the model needs [${t.shape}]`);
    }
    for (const k of Object.keys(params)) if (!(k in expected)) problems.push(`unexpected '${k}'`);
    if (problems.length) {
      tf.dispose(Object.values(params));
      throw new CheckpointError(`${source} does not match the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
    }
  }
  return { params, meta: m.meta };
}

const GROUPS = ['theta', 'phi', 'optTheta/m', 'optTheta/v', 'optPhi/m', 'optPhi/v'] as const;

function groupsOf(s: MetaState): Record<(typeof GROUPS)[number], Params> {
  return { theta: s.theta, phi: s.phi, 'optTheta/m': s.optTheta.m, 'optTheta/v': s.optTheta.v, 'optPhi/m': s.optPhi.m, 'optPhi/v': s.optPhi.v };
}

/** The whole training state (θ, φ, both Adam states, step) as one checkpoint. */
export function encodeMetaState(s: MetaState, meta: Record<string, unknown> = {}): { manifest: WeightsManifest; data: Uint8Array } {
  const flat: Params = {};
  for (const [g, p] of Object.entries(groupsOf(s))) for (const [k, t] of Object.entries(p)) flat[`${g}/${k}`] = t;
  return encodeParams(flat, { ...meta, step: s.step, optThetaStep: s.optTheta.step, optPhiStep: s.optPhi.step });
}

/** Reads a training state; `like` (a freshly initialised state) fixes the expected names and shapes. */
export function decodeMetaState(rawManifest: unknown, data: Uint8Array, source: string, like: MetaState): { state: MetaState; meta: Record<string, unknown> } {
  const expected: Params = {};
  for (const [g, p] of Object.entries(groupsOf(like))) for (const [k, t] of Object.entries(p)) expected[`${g}/${k}`] = t;
  const { params, meta } = decodeParams(rawManifest, data, source, expected);
  const take = (g: string): Params => {
    const out: Params = {};
    const pre = `${g}/`;
    for (const [k, t] of Object.entries(params)) if (k.startsWith(pre)) out[k.slice(pre.length)] = t;
    return out;
  };
  const num = (k: string) => {
    const v = meta[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      tf.dispose(Object.values(params)); // refused: the decoded tensors are nobody's
      throw new CheckpointError(`${source}: meta.${k} must be a non-negative integer`);
    }
    return v;
  };
  const state: MetaState = {
    theta: take('theta'),
    phi: take('phi'),
    optTheta: { step: num('optThetaStep'), m: take('optTheta/m'), v: take('optTheta/v') },
    optPhi: { step: num('optPhiStep'), m: take('optPhi/m'), v: take('optPhi/v') },
    step: num('step'),
  };
  return { state, meta };
}

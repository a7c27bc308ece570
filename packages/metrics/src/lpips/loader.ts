// Node loader for LPIPS weights: reads <dir>/manifest.json and <dir>/weights.bin.
// The only file I/O of the LPIPS code; the network itself is in network.ts. Exported from
// '@noether/metrics/node' only, so that '@noether/metrics' itself imports no Node module.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Params } from '@noether/core';
import { LPIPS_MANIFEST_FILE, LPIPS_WEIGHTS_ENV, LPIPS_WEIGHTS_FILE, lpipsParamsFromBytes, parseLpipsManifest } from './format.js';

const HOW_TO_GET =
  'LPIPS needs the published v0.1 AlexNet weights, converted once with ' +
  'packages/metrics/scripts/convert-lpips.py (needs Python + torch): ' +
  'python3 packages/metrics/scripts/convert-lpips.py --lin alex.pth --alexnet alexnet-owt-7be5be79.pth --out <dir>; ' +
  `then pass <dir> or set ${LPIPS_WEIGHTS_ENV}=<dir>. See packages/metrics/README.md, "LPIPS weights". ` +
  'LPIPS never runs on random weights.';

/**
 * Loads LPIPS v0.1 AlexNet weights from a folder holding manifest.json and
 * weights.bin (default: $NOETHER_LPIPS_WEIGHTS). Throws, saying how to obtain
 * weights, when there are none. The caller owns the tensors (disposeParams).
 */
export function loadLpipsWeights(dir?: string): Params {
  const d = dir ?? process.env[LPIPS_WEIGHTS_ENV];
  if (!d) throw new Error(`lpips: no weights folder given and ${LPIPS_WEIGHTS_ENV} is not set. ${HOW_TO_GET}`);
  const manifestPath = resolve(join(d, LPIPS_MANIFEST_FILE));
  const weightsPath = resolve(join(d, LPIPS_WEIGHTS_FILE));
  if (!existsSync(manifestPath)) throw new Error(`lpips: ${manifestPath} not found. ${HOW_TO_GET}`);
  if (!existsSync(weightsPath)) throw new Error(`lpips: ${weightsPath} not found. ${HOW_TO_GET}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new Error(`${manifestPath}: not valid JSON (${(e as Error).message})`);
  }
  const manifest = parseLpipsManifest(json, manifestPath);
  return lpipsParamsFromBytes(manifest, readFileSync(weightsPath), weightsPath);
}

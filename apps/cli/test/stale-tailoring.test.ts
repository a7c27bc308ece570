// A run made before per-example tailoring stepped each sequence at the full inner lr (no
// meta.perSequenceTailoring) is re-evaluated with B× its old cn/latent SGD step: eval and analyze
// say so; new runs, and runs whose numbers do not move (mode 'all', nsgd, adam), say nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson, run, tmp } from './helpers.js';

const config = (tailor: string, optimizer: string) => [
  'name: stale',
  'seed: 1',
  'mode: noether',
  'predictor: { type: mlp, dt: 0.1, hidden: 8 }',
  'embedding: { type: mlp-embedding, hidden: 8, dim: 1 }',
  'dataset: { type: spring, trajectories: 8 }',
  `noether: { tailor: ${tailor} }`,
  `inner: { optimizer: ${optimizer}, lr: 0.01 }`,
  'outer: { epochs: 1, batchSize: 4 }',
].join('\n');

async function oldRun(dir: string, tailor: string, optimizer: string): Promise<string> {
  const out = join(dir, `${tailor}-${optimizer}`);
  writeFileSync(join(dir, 'c.yaml'), config(tailor, optimizer));
  const r = await run(['train', '--config', 'c.yaml', '--backend', 'cpu', '--no-progress', '--out', out], { cwd: dir });
  expect(r.code, r.err).toBe(0);
  expect(readJson(join(out, 'meta.json')).perSequenceTailoring).toBe(true);
  return out;
}

const forget = (out: string) => {
  const f = join(out, 'meta.json');
  const { perSequenceTailoring: _, ...meta } = JSON.parse(readFileSync(f, 'utf8'));
  writeFileSync(f, JSON.stringify(meta));
};

describe('runs made before per-sequence tailoring', () => {
  it("eval and analyze note it for cn + sgd, and only for runs that lack the mark", async () => {
    const dir = tmp();
    const cn = await oldRun(dir, 'cn', 'sgd');
    const fresh = await run(['eval', cn, '--backend', 'cpu'], { cwd: dir });
    expect(fresh.code, fresh.err).toBe(0);
    expect(fresh.err).not.toMatch(/before per-example tailoring/);
    forget(cn);
    const e = await run(['eval', cn, '--backend', 'cpu'], { cwd: dir });
    expect(e.code, e.err).toBe(0);
    expect(e.err.match(/was made before per-example tailoring \(mode 'cn'\) stepped each sequence at the full inner lr/g)).toHaveLength(1);
    const a = await run(['analyze', 'inner-steps', cn, '--phase', 'train', '--steps', '1', '--optimizer', 'sgd', '--backend', 'cpu'], { cwd: dir });
    expect(a.code, a.err).toBe(0);
    expect(a.err).toMatch(/before per-example tailoring/);
    for (const [tailor, optimizer] of [['all', 'sgd'], ['cn', 'nsgd']]) {
      const out = await oldRun(dir, tailor!, optimizer!);
      forget(out);
      const r = await run(['eval', out, '--backend', 'cpu'], { cwd: dir });
      expect(r.code, r.err).toBe(0);
      expect(r.err, `${tailor} ${optimizer}`).not.toMatch(/before per-example tailoring/);
    }
  });
});

// --plugin: a user's own JavaScript plugin trains from the CLI, is recorded in the run, and is
// loaded again by eval, analyze and --resume; bad plugins are exit 2 naming the module.
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasStack, readJson, run, tmp } from './helpers.js';

const fixtures = resolve(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const CONFIG = [
  'name: plug',
  'seed: 3',
  'mode: noether',
  'predictor: { type: mlp-step, hidden: 8 }',
  'embedding: { type: quadratic-js, inputDim: 2 }',
  'dataset: { type: oscillator, nTrain: 8, nTest: 8, seqLength: 5 }',
  'inner: { lr: 0.01 }',
  'outer: { epochs: 1, batchSize: 4, lrTheta: 0.01, lrPhi: 0.01 }',
].join('\n');

describe('--plugin', () => {
  it('trains with a user plugin, records it, and eval and --resume load it from the record', async () => {
    const dir = tmp();
    // The plugin sits in the fixtures folder (so it resolves @noether/core); the user names it by path.
    const plugin = join(fixtures, 'quadratic-plugin.mjs');
    writeFileSync(join(dir, 'plug.yaml'), CONFIG);
    const out = join(dir, 'run');
    const without = await run(['train', '--config', 'plug.yaml', '--backend', 'cpu', '--no-progress', '--out', out], { cwd: dir });
    expect(without.code).toBe(2);
    expect(without.err).toMatch(/quadratic-js/);
    expect(existsSync(out)).toBe(false);

    const r = await run(['train', '--config', 'plug.yaml', '--backend', 'cpu', '--no-progress', '--out', out, '--plugin', plugin], { cwd: dir });
    expect(r.code, r.err).toBe(0);
    expect(readJson(join(out, 'meta.json')).plugins).toEqual([plugin]);
    expect(readJson(join(out, 'config.json')).embedding.type).toBe('quadratic-js');
    const tailored = (s: string) => Number(/^plug \(tailored\)\s+(\S+)/m.exec(s)?.[1]);
    expect(Number.isFinite(tailored(r.out))).toBe(true);

    // eval rebuilds the models with the recorded plugin, without being told.
    const e = await run(['eval', out, '--backend', 'cpu'], { cwd: dir });
    expect(e.code, e.err).toBe(0);
    expect(tailored(e.out)).toBe(tailored(r.out));
    const a = await run(['analyze', 'inner-steps', out, '--phase', 'train', '--steps', '2', '--optimizer', 'sgd', '--backend', 'cpu'], { cwd: dir });
    expect(a.code, a.err).toBe(0);
    expect(readdirSync(join(out, 'analysis')).some((f) => f.startsWith('inner-steps-train-sgd'))).toBe(true);

    // A moved plugin: the record names it and the way out; --plugin gives its new place.
    const moved = join(dir, 'moved-plugin.mjs');
    const copy = join(fixtures, `.moved-${process.pid}.mjs`);
    copyFileSync(plugin, copy);
    writeFileSync(join(out, 'meta.json'), JSON.stringify({ ...readJson(join(out, 'meta.json')), plugins: [moved] }));
    const gone = await run(['eval', out, '--backend', 'cpu'], { cwd: dir });
    expect(gone.code).toBe(2);
    expect(gone.err).toContain(moved);
    expect(gone.err).toMatch(/--plugin/);
    try {
      const res = await run(['train', '--resume', out, '--backend', 'cpu', '--no-progress', '--plugin', copy], { cwd: dir });
      expect(res.code, res.err).toBe(0);
      expect(readJson(join(out, 'meta.json')).plugins).toEqual([copy]);
    } finally {
      renameSync(copy, moved); // out of the source tree
    }
  });

  it('refuses a missing file, a module without register, a TypeScript file and an unknown package (exit 2, nothing written)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'plug.yaml'), CONFIG);
    writeFileSync(join(dir, 'p.ts'), 'export function register() {}\n');
    const cases: [string, RegExp][] = [
      ['./nope.js', /--plugin \.\/nope\.js: no such file/],
      [join(fixtures, 'no-register.mjs'), /exports no register\(container\) function \(it exports: answer\)/],
      ['./p.ts', /TypeScript file; compile it to JavaScript first/],
      ['noether-no-such-plugin', /no such package under .*npm install noether-no-such-plugin/],
    ];
    for (const [spec, msg] of cases) {
      const r = await run(['train', '--config', 'plug.yaml', '--backend', 'cpu', '--no-progress', '--plugin', spec], { cwd: dir });
      expect(r.code, spec).toBe(2);
      expect(r.err, spec).toMatch(msg);
      expect(hasStack(r.err), spec).toBe(false);
    }
    expect(readdirSync(dir).sort()).toEqual(['p.ts', 'plug.yaml']);
  });

  it("analyze gradcam maps a plugin's own image embedding through its featureLayer, and refuses a split that is not its forward pass", async () => {
    const dir = tmp();
    const config = (type: string) => ({
      name: 'frames', seed: 1, mode: 'noether', horizon: 2, contextLength: 4,
      predictor: { type: 'svg-action', arch: 'dcgan', frameSize: 16, channels: 3, widths: [4, 8], gDim: 8, rnnSize: 8, predictorLayers: 1, contextLength: 4, actionDim: 1 },
      embedding: { type, dim: 3 },
      dataset: { type: 'gym-pendulum-pixels', episodes: 3, trainEpisodes: 1, framesPerEpisode: 12, size: 16, supersample: 1, history: 4, future: 2, stride: 6, testStride: 6, seed: 3 },
      noether: { form: '2a', tailor: 'cn' },
      inner: { optimizer: 'nsgd', steps: 1, lr: 0.3 },
      outer: { epochs: 1, batchSize: 2, lrTheta: 0, lrPhi: 0.003 },
      eval: { batchSize: 4, metrics: ['mse'] },
    });
    const plugin = join(fixtures, 'frame-embedding-plugin.mjs');
    const runs: Record<string, string> = {};
    for (const type of ['frame-cnn', 'frame-cnn-lying']) {
      writeFileSync(join(dir, `${type}.json`), JSON.stringify(config(type)));
      runs[type] = join(dir, type);
      const r = await run(['train', '--config', `${type}.json`, '--backend', 'cpu', '--no-progress', '--out', runs[type]!, '--plugin', plugin], { cwd: dir });
      expect(r.code, r.err).toBe(0);
    }
    const ok = await run(['analyze', 'gradcam', runs['frame-cnn']!, '--phase', 'train', '--dims', '2', '--examples', '2', '--backend', 'cpu'], { cwd: dir });
    expect(ok.code, ok.err).toBe(0);
    expect(readFileSync(join(runs['frame-cnn']!, 'plots', 'gradcam.txt'), 'utf8')).toMatch(/on the embedding's layer conv\)/);
    expect(existsSync(join(runs['frame-cnn']!, 'plots', 'gradcam.png'))).toBe(true);
    const lying = await run(['analyze', 'gradcam', runs['frame-cnn-lying']!, '--phase', 'train', '--backend', 'cpu'], { cwd: dir });
    expect(lying.code).toBe(2);
    expect(lying.err).toMatch(/embedding 'frame-cnn-lying': featureLayer\.head\(featureLayer\.features\(x\)\) differs from apply\(x\) by up to 1\b/);
    expect(existsSync(join(runs['frame-cnn-lying']!, 'plots', 'gradcam.png'))).toBe(false);
  });
});

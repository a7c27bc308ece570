// gym-pendulum on episodes from disk (dataset.dir, written by `noether generate gym-pendulum`): the
// manifest's train/test split and frame size are what count, and data the config cannot use is
// refused before the run directory exists.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateGymPendulum, type GymPendulumDataset } from '@noether/datasets';
import { experiments } from '../src/experiments/index.js';
import { checkFrameConfig, gymPixelsFactory } from '../src/experiments/gym-pendulum.js';
import { run, tmp } from './helpers.js';

/** `episodes` episodes of 12 frames, the first `trainEpisodes` the train split. */
async function episodesDir(episodes: number, trainEpisodes: number, size: number): Promise<string> {
  const out = join(tmp('noether-gym-dir-'), 'data');
  await generateGymPendulum({ episodes, trainEpisodes, frames: 12, size, supersample: 1, seed: 3, out });
  return out;
}

// Windows of 4 + 2 frames every 6: two per 12-frame episode.
const WINDOWS = { history: 4, future: 2, stride: 6, testStride: 6 };
const create = (o: Record<string, unknown>) => gymPixelsFactory.create(o) as GymPendulumDataset;

describe('gym-pendulum-pixels with dataset.dir', () => {
  it("uses the manifest's split unless dataset.trainEpisodes is set: the presets set none", async () => {
    const dir = await episodesDir(3, 1, 8);
    for (const preset of ['quickConfig', 'fullConfig'] as const) {
      expect(experiments['gym-pendulum']![preset].dataset).not.toHaveProperty('trainEpisodes');
    }
    // The quick preset's options, as `--set dataset.dir=DIR --set dataset.size=8` leaves them.
    const { type: _type, ...preset } = experiments['gym-pendulum']!.quickConfig.dataset as Record<string, unknown>;
    const quick = { ...preset, ...WINDOWS, dir, size: 8 };
    const ds = create(quick);
    expect([ds.size('train'), ds.size('test')]).toEqual([2, 4]);
    const two = create({ ...quick, trainEpisodes: 2 });
    expect([two.size('train'), two.size('test')]).toEqual([4, 2]);
    expect(() => create({ ...quick, trainEpisodes: 4 })).toThrow(/dataset\.trainEpisodes 4 is more than the 3 episodes in .*: set --set dataset\.trainEpisodes=2 or fewer/);
  });

  it('refuses frames of another size than the config, naming every field to set', async () => {
    const dir = await episodesDir(2, 1, 8);
    expect(() => create({ ...WINDOWS, dir, size: 32 })).toThrow(
      /dataset\.dir .* holds 8×8 frames but dataset\.size is 32.*: run with --set dataset\.size=8 --set predictor\.frameSize=8 --set embedding\.height=8 --set embedding\.width=8 \(and predictor\.widths, if set, with 1 entries: one per block\), or generate the episodes with --size 32/,
    );
  });

  it('refuses a split with no test (or no training) windows, before any training', async () => {
    const dir = await episodesDir(3, 3, 8);
    expect(() => create({ ...WINDOWS, dir })).toThrow(/has 3 episodes and its manifest's trainEpisodes 3, which leaves 6 training and 0 test windows .*: set --set dataset\.trainEpisodes=2 or fewer/);
    expect(() => create({ ...WINDOWS, dir, trainEpisodes: 0 })).toThrow(/leaves 0 training and 6 test windows .*: set dataset\.trainEpisodes to 1 or more/);
    // Simulated episodes too.
    expect(() => create({ ...WINDOWS, episodes: 2, trainEpisodes: 2, framesPerEpisode: 12, size: 8, supersample: 1 })).toThrow(/dataset\.episodes 2 with dataset\.trainEpisodes 2, which leaves 4 training and 0 test windows/);
    expect(() => create({ ...WINDOWS, episodes: 2, trainEpisodes: 5, framesPerEpisode: 12, size: 8 })).toThrow(/dataset\.trainEpisodes 5 is more than dataset\.episodes 2/);
    expect(() => create({ ...WINDOWS, episodes: 1, framesPerEpisode: 12, size: 8, supersample: 1 })).toThrow(/dataset\.episodes 1 with dataset\.trainEpisodes 0, .*: use 2 or more episodes/);
  });

  it('simulated episodes without dataset.trainEpisodes: 5 train episodes, as the paper, but always one left to test on', () => {
    const sim = { ...WINDOWS, framesPerEpisode: 12, size: 8, supersample: 1 };
    const three = create({ ...sim, episodes: 3 });
    expect([three.size('train'), three.size('test')]).toEqual([4, 2]);
    const seven = create({ ...sim, episodes: 7 });
    expect([seven.size('train'), seven.size('test')]).toEqual([10, 4]);
  });

  it('checks the predictor and embedding against the frames of the data', () => {
    const cfg = { predictor: { type: 'svg-action', frameSize: 32, channels: 3 }, embedding: { type: 'cnn', height: 32, width: 32, channels: 3 } };
    expect(() => checkFrameConfig(cfg, [32, 32, 3])).not.toThrow();
    expect(() => checkFrameConfig(cfg, [16, 16, 3])).toThrow(
      /the data has 16×16 frames with 3 channels, but predictor\.frameSize 32, embedding\.height\/width 32×32 do not match: run with --set predictor\.frameSize=16 --set embedding\.height=16 --set embedding\.width=16/,
    );
  });
});

describe('experiment gym-pendulum --set dataset.dir=DIR', () => {
  it('refuses data the config cannot use with exit 2, before the run directory exists', async () => {
    for (const [dir, message] of [
      [await episodesDir(2, 1, 16), /invalid config: dataset\.dir .* holds 16×16 frames but dataset\.size is 32/],
      [await episodesDir(2, 2, 32), /invalid config: dataset: .* has 2 episodes and its manifest's trainEpisodes 2, which leaves \d+ training and 0 test windows/],
    ] as const) {
      const out = join(tmp('noether-gym-run-'), 'run');
      const r = await run(['experiment', 'gym-pendulum', '--backend', 'cpu', '--quick', '--no-progress', '--set', `dataset.dir=${dir}`, '--out', out]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('names a damaged data file as the thing to fix, not the config', async () => {
    const dir = await episodesDir(2, 1, 16);
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), veiw: 1.2 }));
    const r = await run(['experiment', 'gym-pendulum', '--backend', 'cpu', '--quick', '--no-progress', '--set', `dataset.dir=${dir}`, '--out', join(tmp('noether-gym-run-'), 'run')]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/manifest\.json: invalid gym-pendulum manifest \(.*veiw.*\); regenerate the data set/);
    expect(r.err).not.toMatch(/invalid config/);
  });

  it("trains on the manifest's split, and says so", async () => {
    const dir = await episodesDir(3, 1, 16);
    const out = join(tmp('noether-gym-run-'), 'run');
    const r = await run(
      [
        'experiment', 'gym-pendulum', '--backend', 'cpu', '--quick', '--no-progress', '--set', `dataset.dir=${dir}`, '--set', 'dataset.size=16',
        '--set', 'dataset.history=4', '--set', 'dataset.future=2', '--set', 'dataset.stride=6', '--set', 'dataset.testStride=6', '--set', 'horizon=2',
        '--set', 'predictor.frameSize=16', '--set', 'predictor.widths=[4,8]', '--set', 'embedding.height=16', '--set', 'embedding.width=16',
        '--out', out,
      ],
      // The line comes before the first training step: stop there (exit 130) rather than train.
      { onErr: (chunk, interrupt) => chunk.includes('test episodes from') && interrupt() },
    );
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/gym-pendulum: 1 training and 2 test episodes from .* \(its manifest's split\): 2 and 4 windows of 16×16 frames; dataset\.episodes, framesPerEpisode, supersample, actionNoise, seed describe simulated episodes and are not used/);
  }, 120_000);
});

// `noether generate`: writes datasets to files with @noether/datasets: the Gym pendulum
// pixel episodes (frames, actions, manifest, preview grid) and the spring / pendulum
// trajectories (CSV in the generic loader's format, so `discover --data` reads them back).
import { join } from 'node:path';
import {
  GYM_ROD_REACH, GYM_VIEW, GenerationInterrupted, PENDULUM, SPRING, atomicWriteFile, defaultTrainEpisodes, generateGymPendulum, generateHamiltonianInterruptibly,
} from '@noether/datasets';
import { refuseOtherVariantsFlags } from '../cli/args.js';
import { EXIT, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { checkOutputDir, createOutputDir } from '../cli/output.js';
import { Progress } from '../run/progress.js';
import type { Command } from './types.js';

const KINDS = ['gym-pendulum', 'spring', 'pendulum'] as const;
const GYM = ['gym-pendulum'];
const TRAJECTORIES = ['spring', 'pendulum'];

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate a dataset to files: gym-pendulum pixel episodes, spring or pendulum trajectories',
  usage: 'KIND --out DIR [options]',
  description:
    'KIND is one of: ' + KINDS.join(', ') + '.\n' +
    'gym-pendulum: episodes of the classic-control pendulum under a scripted swing-up policy, rendered as RGB frames\n' +
    '  (uint8 frames + float32 actions/angles per episode, manifest.json written last, preview.png).\n' +
    'spring / pendulum: HNN-style trajectories (adaptive RK45) as trajectories.csv with columns traj,t,q,p\n' +
    '  (read back with `noether discover --data DIR/trajectories.csv --format csv --id-column traj --inputs q:L,p:M*L/T`\n' +
    '  for spring, `--inputs q:1,p:M*L^2/T` for pendulum).\n' +
    'Ctrl-C stops after the current episode or trajectory, removes what was written, and exits 130.',
  examples: [
    'noether generate gym-pendulum --episodes 200 --out data/gym-pendulum',
    'noether generate gym-pendulum --episodes 10 --size 32 --out /tmp/gym-small',
    'noether generate spring --out data/spring --noise 0.1',
  ],
  flags: [
    { name: 'out', type: 'string', valueName: 'DIR', description: 'output directory (must be empty or absent)' },
    { name: 'episodes', only: GYM, type: 'int', min: 1, valueName: 'N', description: 'gym-pendulum: number of episodes (default 200)' },
    { name: 'train-episodes', only: GYM, type: 'int', min: 0, valueName: 'N', description: 'gym-pendulum: leading episodes in the train split, at most --episodes − 1 so that one is left to test on (default 5, as the paper, or --episodes − 1 if fewer)' },
    { name: 'frames', only: GYM, type: 'int', min: 1, valueName: 'T', description: 'gym-pendulum: frames per episode (default 200)' },
    { name: 'size', only: GYM, type: 'int', min: 1, valueName: 'PX', description: 'gym-pendulum: frame size in pixels (default 64)' },
    { name: 'view', only: GYM, type: 'number', valueName: 'W', description: `gym-pendulum: half-width of the square drawn, > ${GYM_ROD_REACH} (default ${GYM_VIEW}, Gym's; 1.2 fills the frame with the rod's circle)` },
    { name: 'trajectories', only: TRAJECTORIES, type: 'int', min: 1, valueName: 'N', description: 'spring/pendulum: number of trajectories (default 50)' },
    { name: 'noise', only: TRAJECTORIES, type: 'number', min: 0, valueName: 'STD', description: 'spring/pendulum: Gaussian noise on q and p (default 0: noise-free)' },
    { name: 'seed', type: 'int', valueName: 'N', description: 'random seed (default 0)' },
  ],
  positionals: [{ name: 'kind', description: KINDS.join(' | '), required: true }],
  async run(ctx) {
    const kind = ctx.positionals['kind'] as string;
    const f = ctx.flags;
    // Every flag is checked before anything is created (parseArgs already checked the ranges).
    if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown dataset kind '${kind}'; choose one of: ${KINDS.join(', ')}`);
    refuseOtherVariantsFlags('generate', generateCommand.flags, f, kind);
    const view = viewFlag(f['view'] as number | undefined);
    const episodes = (f['episodes'] as number | undefined) ?? 200;
    const trainEpisodes = (f['train-episodes'] as number | undefined) ?? defaultTrainEpisodes(episodes);
    // An experiment tests on the episodes after the train split (and refuses an empty test split).
    if (trainEpisodes >= episodes) throw new UsageError(`--train-episodes (${trainEpisodes}) must be below --episodes (${episodes}): the train split is the leading episodes and at least one is left to test on; lower it or raise --episodes`);
    const frames = (f['frames'] as number | undefined) ?? 200;
    const size = (f['size'] as number | undefined) ?? 64;
    if (typeof f['out'] !== 'string') throw new UsageError('--out DIR is required: where to write the dataset');
    const out = resolvePath(ctx.io, f['out']);
    checkOutputDir(out, '--out', (p) => `output directory ${p} is not empty: choose a new --out or empty it`);
    const seed = (f['seed'] as number | undefined) ?? 0;

    const undo = createOutputDir(out, '--out');
    const progress = new Progress(ctx.io);
    progress.start();
    try {
      if (kind === 'gym-pendulum') {
        const m = await generateGymPendulum({
          episodes, trainEpisodes, seed, out, view, frames, size,
          signal: ctx.signal,
          onProgress: (done, total) => progress.count('generate', done, total, 'episodes'),
        });
        ctx.io.out(`wrote ${m.episodes.length} episodes (${m.trainEpisodes} train) of ${m.framesPerEpisode} frames to ${out} (manifest.json, preview.png)\n`);
        return 0;
      }
      const set = await generateHamiltonianInterruptibly(kind === 'spring' ? SPRING : PENDULUM, {
        trajectories: (f['trajectories'] as number | undefined) ?? 50, seed, noiseStd: (f['noise'] as number | undefined) ?? 0,
        signal: ctx.signal,
        onProgress: (done, total) => progress.count('generate', done, total, 'trajectories'),
      });
      const all = [...set.train, ...set.test];
      const lines = ['traj,t,q,p'];
      all.forEach((tr, i) => {
        for (let k = 0; k < tr.t.length; k++) lines.push(`${i},${tr.t[k]},${tr.x[k * 2]},${tr.x[k * 2 + 1]}`);
      });
      atomicWriteFile(join(out, 'trajectories.csv'), new TextEncoder().encode(lines.join('\n') + '\n'));
      ctx.io.out(`wrote ${all.length} ${kind} trajectories (first ${set.train.length} are the paper's train split) to ${join(out, 'trajectories.csv')}\n`);
      return 0;
    } catch (e) {
      // Nothing half-written stays: a data set without its manifest would only mislead.
      progress.done();
      undo();
      if (e instanceof GenerationInterrupted) {
        ctx.log(`interrupted: removed the partly written ${out}`);
        return EXIT.INTERRUPTED;
      }
      // An episode's frames are one byte array in memory; too large a one fails to allocate.
      if (kind === 'gym-pendulum' && e instanceof RangeError && /typed array length|allocation failed/i.test(e.message)) {
        throw new UsageError(`cannot allocate an episode of --frames ${frames} at --size ${size} (${((frames * size * size * 3) / 2 ** 30).toFixed(1)} GiB of frames): lower --size or --frames`);
      }
      throw e;
    }
  },
};

function viewFlag(v: number | undefined): number | undefined {
  if (v !== undefined && !(v > GYM_ROD_REACH)) throw new UsageError(`--view must be > ${GYM_ROD_REACH} (the rod reaches ${GYM_ROD_REACH} from the pivot), got ${v}`);
  return v;
}

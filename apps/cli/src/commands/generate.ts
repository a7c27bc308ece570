// `noether generate`: writes datasets to files with @noether/datasets: the Gym pendulum
// pixel episodes (frames, actions, manifest, preview grid) and the spring / pendulum
// trajectories (CSV in the generic loader's format, so `discover --data` reads them back).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GYM_ROD_REACH, GYM_VIEW, atomicWriteFile, generateGymPendulum, generatePendulum, generateSpring } from '@noether/datasets';
import { CliError, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { Progress } from '../run/progress.js';
import type { Command } from './types.js';

const KINDS = ['gym-pendulum', 'spring', 'pendulum'] as const;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate a dataset to files: gym-pendulum pixel episodes, spring or pendulum trajectories',
  usage: 'KIND --out DIR [options]',
  description:
    'KIND is one of: ' + KINDS.join(', ') + '.\n' +
    'gym-pendulum: episodes of the classic-control pendulum under a scripted swing-up policy, rendered as RGB frames\n' +
    '  (uint8 frames + float32 actions/angles per episode, manifest.json written last, preview.png).\n' +
    'spring / pendulum: HNN-style trajectories (adaptive RK45) as trajectories.csv with columns traj,t,q,p\n' +
    '  (read back with `noether discover --data DIR/trajectories.csv --format csv`).',
  examples: [
    'noether generate gym-pendulum --episodes 200 --out data/gym-pendulum',
    'noether generate gym-pendulum --episodes 10 --size 32 --out /tmp/gym-small',
    'noether generate spring --out data/spring --noise 0.1',
  ],
  flags: [
    { name: 'out', type: 'string', valueName: 'DIR', description: 'output directory (must be empty or absent)' },
    { name: 'episodes', type: 'int', valueName: 'N', description: 'gym-pendulum: number of episodes (default 200)' },
    { name: 'train-episodes', type: 'int', valueName: 'N', description: 'gym-pendulum: leading episodes in the train split (default 5, as the paper)' },
    { name: 'frames', type: 'int', valueName: 'T', description: 'gym-pendulum: frames per episode (default 200)' },
    { name: 'size', type: 'int', valueName: 'PX', description: 'gym-pendulum: frame size in pixels (default 64)' },
    { name: 'view', type: 'number', valueName: 'W', description: `gym-pendulum: half-width of the square drawn, > ${GYM_ROD_REACH} (default ${GYM_VIEW}, Gym's; 1.2 fills the frame with the rod's circle)` },
    { name: 'trajectories', type: 'int', valueName: 'N', description: 'spring/pendulum: number of trajectories (default 50)' },
    { name: 'noise', type: 'number', valueName: 'STD', description: 'spring/pendulum: Gaussian noise on q and p (default 0: noise-free)' },
    { name: 'seed', type: 'int', valueName: 'N', description: 'random seed (default 0)' },
  ],
  positionals: [{ name: 'kind', description: KINDS.join(' | '), required: true }],
  async run(ctx) {
    const kind = ctx.positionals['kind'] as string;
    if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown dataset kind '${kind}'; choose one of: ${KINDS.join(', ')}`);
    if (kind !== 'gym-pendulum' && ctx.flags['view'] !== undefined) throw new UsageError(`--view applies to gym-pendulum only, not ${kind}`);
    const view = viewFlag(ctx.flags['view'] as number | undefined);
    const outFlag = ctx.flags['out'];
    if (typeof outFlag !== 'string') throw new UsageError('--out DIR is required: where to write the dataset');
    const out = resolvePath(ctx.io, outFlag);
    if (existsSync(out) && readdirSync(out).length > 0) throw new CliError(`output directory ${out} is not empty: choose a new --out or empty it`);
    mkdirSync(out, { recursive: true });
    const seed = (ctx.flags['seed'] as number | undefined) ?? 0;
    const positive = (name: string, dflt: number) => {
      const v = (ctx.flags[name] as number | undefined) ?? dflt;
      if (!(v > 0)) throw new UsageError(`--${name} must be positive, got ${v}`);
      return v;
    };
    if (kind === 'gym-pendulum') {
      const episodes = positive('episodes', 200);
      const progress = new Progress(ctx.io);
      progress.start();
      const m = generateGymPendulum({
        episodes, seed, out,
        trainEpisodes: (ctx.flags['train-episodes'] as number | undefined) ?? Math.min(5, episodes),
        frames: positive('frames', 200),
        size: positive('size', 64),
        view,
        onProgress: (done, total) => progress.count('generate', done, total, 'episodes'),
      });
      ctx.io.out(`wrote ${m.episodes.length} episodes (${m.trainEpisodes} train) of ${m.framesPerEpisode} frames to ${out} (manifest.json, preview.png)\n`);
      return 0;
    }
    const noise = (ctx.flags['noise'] as number | undefined) ?? 0;
    if (!(noise >= 0)) throw new UsageError(`--noise must be ≥ 0, got ${noise}`);
    const opts = { trajectories: positive('trajectories', 50), seed, noiseStd: noise };
    const set = kind === 'spring' ? generateSpring(opts) : generatePendulum(opts);
    const all = [...set.train, ...set.test];
    const lines = ['traj,t,q,p'];
    all.forEach((tr, i) => {
      for (let k = 0; k < tr.t.length; k++) lines.push(`${i},${tr.t[k]},${tr.x[k * 2]},${tr.x[k * 2 + 1]}`);
    });
    atomicWriteFile(join(out, 'trajectories.csv'), new TextEncoder().encode(lines.join('\n') + '\n'));
    ctx.io.out(`wrote ${all.length} ${kind} trajectories (first ${set.train.length} are the paper's train split) to ${join(out, 'trajectories.csv')}\n`);
    return 0;
  },
};

function viewFlag(v: number | undefined): number | undefined {
  if (v !== undefined && !(v > GYM_ROD_REACH)) throw new UsageError(`--view must be > ${GYM_ROD_REACH} (the rod reaches ${GYM_ROD_REACH} from the pivot), got ${v}`);
  return v;
}

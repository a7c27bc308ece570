// noether analyze: what a trained Noether embedding learned (paper, Figs. 5 and 6).
//   gradcam RUN       PCA of the embedding over test frame pairs + Grad-CAM maps of the leading PCs
//   inner-steps RUN   inner and outer loss against the number of test-time tailoring steps
import { disposeMetaState, type InnerOptimizerKind, type TailorMode } from '@noether/core';
import { gradcam, gradcamTarget } from '../analyze/gradcam.js';
import { AnalysisInterrupted, innerSteps } from '../analyze/inner-steps.js';
import { loadPhase, pickPhase } from '../analyze/video.js';
import { refuseOtherVariantsFlags } from '../cli/args.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { resolvePath } from '../cli/io.js';
import { cliContainer } from '../run/container.js';
import { RunDir } from '../run/run-dir.js';
import { PLUGIN_FLAG, pluginsFor } from '../run/user-plugins.js';
import { staleTailoringNote } from '../run/stale-tailoring.js';
import { allPlugins } from './run-shared.js';
import type { Command } from './types.js';

/** Also the names (and name prefixes) of the plots they write, which the report files under 'Analyses'. */
export const ANALYSES = ['gradcam', 'inner-steps'] as const;
const GRADCAM = ['gradcam'];
const INNER_STEPS = ['inner-steps'];

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'analyse a trained embedding: PCA + Grad-CAM maps (Fig. 5), loss vs inner steps (Fig. 6)',
  usage: '[options] ANALYSIS RUN',
  description:
    'ANALYSIS is one of:\n' +
    "  gradcam      PCA of the learned embedding over consecutive test frame pairs (explained variance per\n" +
    "               component), then Grad-CAM maps on the embedding's feature layer for the leading PCA\n" +
    '               dimensions: RUN/analysis/gradcam-pca.csv, RUN/plots/gradcam-pca.png, RUN/plots/gradcam.png and\n' +
    '               gradcam.txt (its legend). Needs a video run whose embedding declares the layer to map (its\n' +
    "               featureLayer: the cnn embedding's second conv; yours, see docs/plugins.md).\n" +
    '  inner-steps  inner (Noether) and outer (task) loss against the number of plain tailoring steps on the\n' +
    '               test split. With --oracle, tailoring minimises the task loss against the ground truth\n' +
    '               instead: the most any embedding could gain with those variables and steps (any phase, even a\n' +
    '               baseline). Each setting gets files of its own, named by it (running one again replaces\n' +
    '               its own): RUN/analysis/inner-steps-<phase>-<optimizer>-lr<lr>-<tailor>[-oracle].csv and\n' +
    '               RUN/plots/inner-steps-<phase>-<optimizer>-lr<lr>-<tailor>[-oracle].png. RUN/plots/inner-steps.png\n' +
    '               overlays every setting analysed in the run so far: --optimizer adam, then --optimizer sgd,\n' +
    '               give the Fig. 6 comparison.\n' +
    "RUN is a run directory of a video experiment (gym-pendulum, physics101); the 'noether' phase is used unless --phase.",
  examples: [
    'noether analyze gradcam runs/gym-pendulum-20250101-120000Z',
    'noether analyze inner-steps runs/physics101-20250101-120000Z --steps 500 --optimizer adam',
    'noether analyze inner-steps runs/physics101-20250101-120000Z --steps 500 --optimizer sgd --lr 1e-4',
    'noether analyze inner-steps runs/gym-pendulum-20250101-120000Z --oracle --phase svg --tailor cn --steps 50',
  ],
  flags: [
    { name: 'phase', type: 'string', valueName: 'NAME', description: "phase to analyse (default: 'noether')" },
    { name: 'dims', only: GRADCAM, type: 'int', valueName: 'N', description: "gradcam: leading PCA dimensions to map (default 4, at most the embedding's dimension)" },
    { name: 'examples', only: GRADCAM, type: 'int', valueName: 'N', description: 'gradcam: test frame pairs shown (default 6)' },
    { name: 'max-sequences', only: GRADCAM, type: 'int', valueName: 'N', description: 'gradcam: test sequences feeding the PCA (default 32)' },
    { name: 'steps', only: INNER_STEPS, type: 'int', valueName: 'N', description: 'inner-steps: inner steps (default 500)' },
    { name: 'optimizer', only: INNER_STEPS, type: 'string', valueName: 'KIND', choices: ['sgd', 'adam', 'nsgd'], description: 'inner-steps: inner optimiser (default adam; nsgd: per-example normalised SGD)' },
    { name: 'lr', only: INNER_STEPS, type: 'number', valueName: 'LR', description: "inner-steps: inner learning rate (default 1e-4 for adam; for sgd and nsgd the run's inner lr when the run used that optimiser)" },
    { name: 'max-batches', only: INNER_STEPS, type: 'int', valueName: 'N', description: 'inner-steps: test batches averaged (default 1)' },
    { name: 'batch-size', only: INNER_STEPS, type: 'int', valueName: 'N', description: "inner-steps: test batch size (default: the run's eval batch size)" },
    { name: 'oracle', only: INNER_STEPS, type: 'boolean', description: 'inner-steps: tailor on the task loss against the ground truth (an upper bound for any embedding)' },
    { name: 'tailor', only: INNER_STEPS, type: 'string', valueName: 'MODE', choices: ['all', 'cn', 'latent'], description: "inner-steps: the variables tailored (default: the run's)" },
    PLUGIN_FLAG,
  ],
  positionals: [
    { name: 'analysis', description: `one of: ${ANALYSES.join(', ')}`, required: true },
    { name: 'run', description: 'a run directory', required: true },
  ],
  async run(ctx) {
    const what = ctx.positionals['analysis'] as string;
    if (!(ANALYSES as readonly string[]).includes(what)) throw new UsageError(`unknown analysis '${what}'; choose one of: ${ANALYSES.join(', ')}`);
    const f = ctx.flags;
    refuseOtherVariantsFlags('analyze', analyzeCommand.flags, f, what);
    const posInt = (name: string, dflt: number) => {
      const v = f[name] === undefined ? dflt : Number(f[name]);
      if (!(Number.isInteger(v) && v >= 1)) throw new UsageError(`--${name} must be a positive integer, got ${f[name]}`);
      return v;
    };
    const rd = RunDir.open(resolvePath(ctx.io, ctx.positionals['run'] as string));
    const oracle = f['oracle'] === true;
    const phase = (f['phase'] as string | undefined) ?? pickPhase(rd) ?? (oracle ? rd.phases()[0] : undefined);
    if (!phase) throw new CliError(`run ${rd.path} has no phase with a learned embedding (phases: ${rd.phases().join(', ') || 'none'}); run a Noether experiment first`);
    const user = await pluginsFor(ctx.io, f['plugin'] as string[] | undefined, rd.meta.plugins, rd.path);
    await ctx.backend();
    const container = cliContainer(...allPlugins(), ...user.plugins);
    const loaded = await loadPhase(rd, container, phase);
    const stale = staleTailoringNote(rd, loaded.exp);
    if (stale) ctx.log(stale);
    try {
      // Check before computing anything. Nothing is created before the results are written (analysis/
      // comes with its first file), so a run that cannot be analysed is left as it was.
      const target = what === 'gradcam' ? gradcamTarget(loaded) : undefined;
      if (target) {
        const requested = posInt('dims', 4);
        const r = await gradcam(rd, target, { dims: requested, examples: posInt('examples', 6), maxSequences: posInt('max-sequences', 32), signal: ctx.signal });
        if (requested > r.dims) ctx.log(`note: ${requested} PCA dimensions requested (--dims), but the embedding has ${r.dims}: mapping PC1..PC${r.dims}`);
        ctx.io.out(
          `PCA of the '${phase}' embedding over ${r.samples} test frame pairs (${r.sequences} test sequences):\n` +
            r.pca.explained.slice(0, Math.max(r.dims, 6)).map((v, i) => `  PC${i + 1}  ${(100 * v).toFixed(2)}% of variance`).join('\n') + '\n' +
            `Grad-CAM maps of PC1..PC${r.dims}: ${r.files.filter((x) => x.endsWith('gradcam.png')).join('')}\n` +
            r.notes.map((l) => `  ${l}\n`).join(''),
        );
      } else {
        const optimizer = ((f['optimizer'] as string | undefined) ?? 'adam') as InnerOptimizerKind;
        const runInner = loaded.exp.config.inner;
        // An sgd lr means nothing to nsgd (a step length) and vice versa: only reuse the run's own.
        if (f['lr'] === undefined && optimizer !== 'adam' && runInner.optimizer !== optimizer) {
          throw new UsageError(`--optimizer ${optimizer}: the run was trained with inner optimiser '${runInner.optimizer}', so its lr (${runInner.lr}) does not carry over; give --lr`);
        }
        const lr = f['lr'] !== undefined ? Number(f['lr']) : optimizer === 'adam' ? 1e-4 : runInner.lr;
        if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${f['lr']}`);
        const steps = posInt('steps', 500);
        const r = await innerSteps(rd, loaded, {
          steps, optimizer, lr, maxBatches: posInt('max-batches', 1),
          batchSize: f['batch-size'] === undefined ? undefined : posInt('batch-size', 1), log: ctx.log,
          oracle, tailor: f['tailor'] as TailorMode | undefined, signal: ctx.signal,
        });
        const best = r.outer.reduce((bi, v, i) => (v < r.outer[bi]! ? i : bi), 0);
        ctx.io.out(
          `inner-steps (${steps} ${optimizer} steps, lr ${lr}, ${r.sequences} test sequences, phase '${phase}'${oracle ? ', oracle: tailored on the task loss' : ''}):\n` +
            `  inner loss: ${r.inner[0]!.toExponential(4)} -> ${r.inner[steps]!.toExponential(4)}\n` +
            `  outer loss: ${r.outer[0]!.toExponential(4)} -> ${r.outer[steps]!.toExponential(4)} (lowest ${r.outer[best]!.toExponential(4)} after ${best} steps)\n` +
            `  ${r.files.join('\n  ')}\n` +
            `  ${r.files[r.files.length - 1]} shows the ${r.settings.length} setting${r.settings.length === 1 ? '' : 's'} analysed in this run: ${r.settings.join('; ')}\n`,
        );
        for (const s of r.skipped) ctx.log(`note: left out of the combined plot: ${s}`);
      }
    } catch (e) {
      if (e instanceof AnalysisInterrupted) {
        ctx.log(`noether analyze: ${e.message}`);
        return EXIT.INTERRUPTED;
      }
      if (e instanceof CliError) throw e;
      const m = (e as Error).message;
      if (/does not tailor|cannot tailor in mode|no latent activations|conditional-normalisation|tailoring would change nothing|test split is empty|non-finite/.test(m)) throw new CliError(m);
      throw e;
    } finally {
      disposeMetaState(loaded.state);
    }
    return 0;
  },
};

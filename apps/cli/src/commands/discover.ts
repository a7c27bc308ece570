// `noether discover`: search symbolic conservation laws in state trajectories and rank them by how
// much meta-tailoring with them helps an MLP (Noether Networks, Tables 1–2). The pipeline lives in
// ../discover/; this file maps flags onto it.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { resolvePath } from '../cli/io.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import type { Command, CommandContext } from './types.js';
import { INTEGRATORS } from '@noether/predictors-mlp';
import { MAX_ENUMERATION_SIZE } from '@noether/embeddings-symbolic';
import type { DataSpec } from '../discover/data.js';
import { checkOutDir } from '../discover/out-dir.js';
import { Interrupted } from '../run/runner.js';
import { readShards, runDiscover, runShard, type DiscoverOptions, type DiscoverResult } from '../discover/pipeline.js';

const SYSTEMS = ['spring', 'pendulum', 'real-pendulum'] as const;
const REAL_PENDULUM_FILE = 'shared/data/schmidt-lipson/real_pend_h_1.txt';

// The lr sweep reaches down to 10^-6: our inner loss (form 2a summed over the rollout, per
// trajectory, of g/σ: evaluate.ts) is larger than the paper's, so its useful lrs (about 10^-5 on
// spring, pendulum and the real pendulum) sit below the paper's k ∈ {−3, …, 1}; from 10^-4.5 one
// step already overshoots (docs/results.md).
/** --quick: the same depth (the laws need 7 nodes) with fewer fit steps, a capped sweep, fewer epochs. */
export const QUICK = { pretrainSteps: 400, epochs: 3, topK: 2, maxRanked: 6, fitSteps: 120, fitRestarts: 2, lrExponents: [-6, -5.5, -5, -4.5] };
export const FULL = { pretrainSteps: 2000, epochs: 100, topK: 20, fitSteps: 300, fitRestarts: 3, lrExponents: [-6, -5.5, -5, -4.5, -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1] };

/** The bundled real-pendulum file: shared/data/... in the working directory or the nearest parent that has it. */
function defaultRealPendulumFile(cwd: string): string {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const f = join(dir, REAL_PENDULUM_FILE);
    if (existsSync(f)) return f;
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(`real-pendulum: ${REAL_PENDULUM_FILE} not found in ${cwd} or its parents; give the Schmidt–Lipson file with --data FILE`);
}

function num(ctx: CommandContext, name: string): number | undefined {
  const v = ctx.flags[name];
  return v === undefined ? undefined : (v as number);
}

function positiveInt(ctx: CommandContext, name: string, fallback: number, min = 1): number {
  const v = num(ctx, name) ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function parseShard(s: string): { i: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--shard must be i/n (e.g. 0/4: the first of 4 machines), got '${s}'`);
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (!(n >= 1 && i < n)) throw new UsageError(`--shard ${s}: need 0 ≤ i < n`);
  return { i, n };
}

function optionsFromFlags(ctx: CommandContext, system: string | undefined): DiscoverOptions {
  const f = ctx.flags;
  const quick = Boolean(f['quick']);
  const base = quick ? QUICK : FULL;
  const seed = (num(ctx, 'seed') ?? 0);
  let data: DataSpec;
  const file = f['data'] as string | undefined;
  if (system) {
    if (!SYSTEMS.includes(system as (typeof SYSTEMS)[number])) throw new UsageError(`unknown system '${system}'; use one of ${SYSTEMS.join(', ')}, or --data FILE --format csv|schmidt-lipson`);
    data = { source: system as DataSpec['source'], seed, noise: num(ctx, 'noise') };
    if (system === 'real-pendulum') data.file = file ? resolvePath(ctx.io, file) : defaultRealPendulumFile(ctx.io.cwd);
    else if (file) throw new UsageError(`--data is for real-pendulum or file input; '${system}' is generated`);
    else if (f['seq-length'] !== undefined) throw new UsageError(`--seq-length is for real-pendulum or file input; '${system}' is generated with its own length`);
    if (f['test-fraction'] !== undefined) throw new UsageError(`--test-fraction is for --format csv; '${system}' comes with its own train/test split`);
    if (f['inputs']) data.inputs = f['inputs'] as string;
    data.seqLength = num(ctx, 'seq-length');
  } else {
    if (!file) throw new UsageError('give a system (spring, pendulum, real-pendulum) or --data FILE --format csv|schmidt-lipson --inputs NAME:UNIT,...');
    const format = f['format'] as DataSpec['format'] | undefined;
    if (!format) throw new UsageError('--data needs --format csv or --format schmidt-lipson');
    if (!f['inputs']) throw new UsageError(`--data needs its state columns and their units: --inputs NAME:UNIT,... (e.g. q:1,p:M*L^2/T; units are products of L, M, T)`);
    const testFraction = num(ctx, 'test-fraction');
    if (testFraction !== undefined && format !== 'csv') throw new UsageError('--test-fraction is for --format csv; a Schmidt–Lipson file comes with its own train/test split');
    // Both splits must hold trajectories: training ones for the search, test ones for the result.
    if (testFraction !== undefined && !(testFraction > 0 && testFraction < 1)) {
      throw new UsageError(`--test-fraction is the share of trajectories held out for testing: it must be between 0 and 1 (exclusive), got ${testFraction}`);
    }
    data = {
      source: 'file', seed, file: resolvePath(ctx.io, file), format, inputs: f['inputs'] as string,
      idColumn: f['id-column'] as string | undefined, timeColumn: f['time-column'] as string | undefined,
      seqLength: num(ctx, 'seq-length'), testFraction,
    };
  }
  const lrs = f['lr-exponents'] as string[] | undefined;
  const lrExponents = lrs ? lrs.flatMap((s) => s.split(',')).map(Number) : base.lrExponents;
  if (lrExponents.some((k) => !Number.isFinite(k))) throw new UsageError(`--lr-exponents must be numbers (k of lr 10^k), got ${lrs!.join(',')}`);
  const maxRanked = num(ctx, 'max-ranked') ?? (quick ? QUICK.maxRanked : undefined);
  return {
    data,
    depth: positiveInt(ctx, 'depth', 7),
    seed,
    quick,
    pretrainSteps: positiveInt(ctx, 'pretrain-steps', base.pretrainSteps, 0),
    epochs: positiveInt(ctx, 'epochs', base.epochs, 0),
    topK: positiveInt(ctx, 'top-k', base.topK),
    ...(maxRanked !== undefined ? { maxRanked: positiveInt(ctx, 'max-ranked', maxRanked) } : {}),
    lrExponents,
    batchSize: positiveInt(ctx, 'batch-size', 25),
    hidden: positiveInt(ctx, 'hidden', 200),
    hnn: f['hnn'] === undefined ? system === 'real-pendulum' : Boolean(f['hnn']),
    integrator: (f['integrator'] as DiscoverOptions['integrator'] | undefined) ?? 'euler',
    lrTheta: num(ctx, 'lr-theta') ?? 1e-4,
    lrPhi: num(ctx, 'lr-phi') ?? 1e-3,
    fit: { steps: positiveInt(ctx, 'fit-steps', base.fitSteps), restarts: positiveInt(ctx, 'fit-restarts', base.fitRestarts) },
  };
}

function summary(r: DiscoverResult, dir: string): string {
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(4));
  return [
    `system      ${r.system}${r.options.integrator === 'rk4' ? ' (RK4 steps)' : ''}`,
    `formula     ${r.formula ?? '(none)'}`,
    `stages      ${r.stages.enumerated} enumerated → ${r.stages.counts.accepted} accepted → ${r.stages.sweepScored} scored → ${r.stages.metaTailored} meta-tailored (${r.stages.diverged} diverged)`,
    `RMSE        vanilla ${f(r.rmse.vanilla)}  vanilla+ft ${f(r.rmse.vanillaFinetuned)}${r.rmse.vanillaFinetuned > r.rmse.vanilla ? ' (worse than vanilla: see the note)' : ''}  Noether ${f(r.rmse.noether)}  oracle ${f(r.rmse.oracle)}${r.rmse.hnn !== undefined ? `  HNN ${f(r.rmse.hnn)}` : ''}`,
    `written     ${dir}/result.json, ${dir}/${r.plot}`,
    ...r.notes.map((n) => `note        ${n}`),
  ].join('\n') + '\n';
}

export const discoverCommand: Command = {
  name: 'discover',
  summary: 'discover conservation laws in state trajectories (symbolic search + meta-tailoring)',
  usage: '[options] spring|pendulum|real-pendulum | --data FILE --format csv|schmidt-lipson --inputs NAME:UNIT,... | merge SHARD.json...',
  description:
    'Enumerates every unit-valid formula up to --depth nodes, fits its parameters to be conserved on the training\n' +
    'sequences (and rejects it unless it is 100× better conserved there than on random sequences), pre-trains the\n' +
    'HNN baseline MLP, scores survivors by one tailoring step at lr 10^k, meta-tailors the best --top-k for --epochs,\n' +
    'picks by long-term training MSE and reports test RMSE against the vanilla MLP, the vanilla MLP fine-tuned on the\n' +
    'same rollout loss for the same steps without tailoring (vanilla+ft), and the oracle (true H).\n' +
    'The search and the meta-tailoring runs (top-k candidates, fine-tuned baseline, oracle) use --workers threads\n' +
    '(default: all cores); results do not depend on it. Split the search across machines with --shard i/n on each,\n' +
    'then `noether discover merge --out DIR shard-*.json` finishes the run.',
  examples: [
    'noether discover spring --quick --out runs/discover-spring',
    'noether discover pendulum --out runs/discover-pendulum',
    'noether discover real-pendulum --data shared/data/schmidt-lipson/real_pend_h_1.txt --quick',
    'noether discover --data traj.csv --format csv --inputs q:1,p:M*L^2/T --id-column traj --time-column t',
    'noether discover pendulum --shard 0/2 --out runs/shards   # on machine 1 (and 1/2 on machine 2)',
    'noether discover merge --out runs/discover-pendulum runs/shards/shard-0-of-2.json runs/shards/shard-1-of-2.json',
  ],
  positionals: [{ name: 'args', description: 'system name, or merge followed by shard files', variadic: true }],
  flags: [
    { name: 'out', short: 'o', type: 'string', valueName: 'DIR', description: 'output directory (default runs/discover-<system>)' },
    { name: 'quick', type: 'boolean', description: `small run (≤ 5 min on 2 cores): fit ${QUICK.fitSteps} steps × ${QUICK.fitRestarts}, sweep ${QUICK.maxRanked} survivors at lr 10^{${QUICK.lrExponents.join(',')}}, top ${QUICK.topK}, ${QUICK.epochs} epochs` },
    { name: 'data', type: 'string', valueName: 'FILE', description: 'trajectory file (CSV or Schmidt–Lipson text)' },
    { name: 'format', type: 'string', valueName: 'FMT', choices: ['csv', 'schmidt-lipson'], description: 'format of --data' },
    { name: 'inputs', type: 'string', valueName: 'LIST', description: 'state columns and units, any number of them, e.g. q:1,p:M*L^2/T (units: products of L, M, T; 1 = dimensionless); with --hnn list q₁…qₙ then p₁…pₙ' },
    { name: 'id-column', type: 'string', valueName: 'NAME', description: 'CSV column of the trajectory id (default trajectory)' },
    { name: 'time-column', type: 'string', valueName: 'NAME', description: 'CSV column of the time (default t)' },
    // 2: a start state and one step to predict; the search needs variance within a sequence.
    { name: 'seq-length', type: 'int', min: 2, valueName: 'N', description: 'cut long recordings into sequences of N ≥ 2 samples (real pendulum default 20)' },
    { name: 'test-fraction', type: 'number', valueName: 'F', description: 'CSV: share of trajectories held out for testing, 0 < F < 1 (default 0.5)' },
    { name: 'noise', type: 'number', valueName: 'STD', description: 'spring/pendulum: Gaussian noise on q, p (default 0; HNN used 0.1)' },
    { name: 'depth', type: 'int', min: 1, max: MAX_ENUMERATION_SIZE, valueName: 'N', description: `maximum formula size in nodes, at most ${MAX_ENUMERATION_SIZE} (default 7, as the paper; a law may need more: p²/2 + q⁴/4 needs 8)` },
    { name: 'seed', type: 'int', valueName: 'N', description: 'seed of data, search and training (default 0)' },
    { name: 'pretrain-steps', type: 'int', valueName: 'N', description: `MLP pre-training Adam steps (default ${FULL.pretrainSteps}; quick ${QUICK.pretrainSteps})` },
    { name: 'epochs', type: 'int', valueName: 'N', description: `meta-tailoring epochs per candidate (default ${FULL.epochs}; quick ${QUICK.epochs})` },
    { name: 'top-k', type: 'int', valueName: 'N', description: `candidates meta-tailored (default ${FULL.topK}; quick ${QUICK.topK})` },
    { name: 'max-ranked', type: 'int', valueName: 'N', description: `score only the N survivors best conserved on data (default all; quick ${QUICK.maxRanked})` },
    { name: 'lr-exponents', type: 'list', valueName: 'K,...', description: `the tailoring lr sweep 10^k (default ${FULL.lrExponents[0]},${FULL.lrExponents[1]},…,${FULL.lrExponents.at(-1)}; quick ${QUICK.lrExponents.join(',')})` },
    { name: 'batch-size', type: 'int', valueName: 'N', description: 'sequences per meta-training step (default 25)' },
    { name: 'hnn', type: 'boolean', description: 'also pre-train the HNN baseline and report its RMSE (default: on for real-pendulum; --hnn=false skips it)' },
    { name: 'integrator', type: 'string', valueName: 'NAME', choices: INTEGRATORS, description: 'how the MLP (and HNN) step their learned dx/dt over dt: euler x + f(x)·dt (default) or rk4 (classic 4-stage Runge–Kutta: 4 field evaluations a step, ~4× the time and memory of meta-tailoring)' },
    { name: 'hidden', type: 'int', valueName: 'N', description: 'hidden width of the MLP (default 200, as HNN)' },
    { name: 'lr-theta', type: 'number', valueName: 'LR', description: 'meta-training Adam lr of the MLP (default 1e-4)' },
    { name: 'lr-phi', type: 'number', valueName: 'LR', description: 'meta-training Adam lr of the formula parameters (default 1e-3)' },
    { name: 'fit-steps', type: 'int', valueName: 'N', description: 'Adam steps per restart when fitting a candidate' },
    { name: 'fit-restarts', type: 'int', valueName: 'N', description: 'restarts when fitting a candidate' },
    { name: 'workers', type: 'int', valueName: 'N', description: 'threads of the search and of meta-tailoring (default: all cores; on the tensorflow backend meta-tailoring runs in-process)' },
    { name: 'shard', type: 'string', valueName: 'i/n', description: 'run only part i of n of the search (for several machines) and write shard-i-of-n.json' },
  ],
  async run(ctx) {
    const args = (ctx.positionals['args'] as string[] | undefined) ?? [];
    const backend = await ctx.backend();
    const workers = positiveInt(ctx, 'workers', availableParallelism());
    const rc = { workers, log: ctx.log, signal: ctx.signal, backend: backend.name };
    const shardFlag = ctx.flags['shard'] as string | undefined;
    try {
      if (args[0] === 'merge') {
        const files = args.slice(1).map((p) => resolvePath(ctx.io, p));
        if (!files.length) throw new UsageError('merge needs the shard files: noether discover merge --out DIR shard-0-of-2.json shard-1-of-2.json');
        const { options, search, seconds } = readShards(files);
        const out = resolvePath(ctx.io, (ctx.flags['out'] as string | undefined) ?? `runs/discover-${options.data.source}`);
        checkOutDir(out);
        const r = await runDiscover(options, out, rc, { search, seconds });
        ctx.io.out(summary(r, out));
        return EXIT.OK;
      }
      if (args.length > 1) throw new UsageError(`discover takes one system name, got ${args.join(' ')}`);
      const o = optionsFromFlags(ctx, args[0]);
      const out = resolvePath(ctx.io, (ctx.flags['out'] as string | undefined) ?? `runs/discover-${args[0] ?? 'data'}`);
      checkOutDir(out);
      if (shardFlag) {
        const file = await runShard(o, parseShard(shardFlag), out, rc);
        ctx.io.out(`wrote ${file}; when every shard is done: noether discover merge --out DIR <all shard files>\n`);
        return EXIT.OK;
      }
      const r = await runDiscover(o, out, rc);
      ctx.io.out(summary(r, out));
      return EXIT.OK;
    } catch (e) {
      if (e instanceof Interrupted) {
        // Discover keeps no checkpoint of its own (a finished search is kept by runDiscover): say so.
        ctx.log(`noether discover: interrupted during ${e.phase}: no ${shardFlag && args[0] !== 'merge' ? 'shard file' : 'result.json'} written`);
        return EXIT.INTERRUPTED;
      }
      if (e instanceof CliError) throw e;
      const m = (e as Error).message ?? String(e);
      // Data and option problems surface as plain Errors from the loaders: the user can fix them.
      if (/^(cannot read|dataset|real pendulum|CSV|--|chunks|a shard|chunk|.*shard file|.*was run with)/.test(m) || (e as Error).name === 'DataFileError') throw new CliError(m, EXIT.USAGE);
      throw e;
    }
  },
};

// Times the symbolic search by stage for one system at depth 7 (the full fit settings of
// `noether discover`, 300 LM steps × 3 restarts unless --quick), then the whole search on 1 and on
// all worker threads. Needs the built packages (npx nx run-many -t build, or tsc per package).
//
//   node bench/discover/stages.mjs spring|pendulum [--quick] [--workers 1,2] [--out FILE.json]
//
// Stages: enumerate (all unit-valid formulas up to 7 nodes), fit (Levenberg–Marquardt on the
// training sequences), filter (the fit on random sequences that the 100× test needs), rank (sort
// the survivors). The stage loop mirrors embeddings-symbolic's searchShard and checks that it
// accepts the same candidates; the worker runs use the CLI's pool (64 chunks, shared queue).
import { availableParallelism, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Rng, deriveSeed } from '@noether/core';
import { ConservationFitter, compile, enumerate, randomSequencesLike, rankCandidates, resolveFitOptions } from '@noether/embeddings-symbolic';
import { loadDiscoverData } from '../../apps/cli/dist/discover/data.js';
import { CHUNKS, mergeChunks, runChunks } from '../../apps/cli/dist/discover/search-pool.js';
import { QUICK, FULL } from '../../apps/cli/dist/commands/discover.js';

const args = process.argv.slice(2);
const system = args.find((a) => !a.startsWith('--') && !/^[\d,]+$/.test(a) && !a.endsWith('.json')) ?? 'spring';
const quick = args.includes('--quick');
const wi = args.indexOf('--workers');
const workerCounts = wi >= 0 ? args[wi + 1].split(',').map(Number) : [1, availableParallelism()];
const oi = args.indexOf('--out');
const outFile = oi >= 0 ? args[oi + 1] : undefined;
const base = quick ? QUICK : FULL;
const fit = resolveFitOptions({ steps: base.fitSteps, restarts: base.fitRestarts });
const seed = 0;
const depth = 7;
const factor = 100;

const d = loadDiscoverData({ source: system, seed });
const data = { values: Float64Array.from(d.train), sequences: d.nTrain, steps: d.T, dim: 2 };
const now = () => performance.now() / 1000;
const load = () => loadavg().map((x) => +x.toFixed(2));

const report = { system, depth, fit, cores: availableParallelism(), loadBefore: load(), stages: {}, counts: {}, workers: [] };

let t = now();
const E = enumerate(d.system, depth);
report.stages.enumerate = now() - t;

const trueFit = new ConservationFitter(data);
const randomFit = new ConservationFitter(randomSequencesLike(data, new Rng(deriveSeed(seed, 'symbolic/random-sequences'))));
let tFit = 0;
let tFilter = 0;
let fitted = 0;
let randomFitted = 0;
let iterTrue = 0;
let iterRandom = 0;
const accepted = [];
for (let index = 0; index < E.count; index++) {
  if (!E.hasInput[index]) continue;
  const expr = E.expr(index);
  let s = now();
  const prog = compile(expr);
  const r = trueFit.fit(prog, new Rng(deriveSeed(seed, `symbolic/fit/${index}`)), fit);
  tFit += now() - s;
  fitted++;
  iterTrue += r.steps;
  if (r.nonFinite || r.degenerate || r.ratio * factor > 1) continue;
  s = now();
  const rr = randomFit.fit(prog, new Rng(deriveSeed(seed, `symbolic/fit-random/${index}`)), fit);
  tFilter += now() - s;
  randomFitted++;
  iterRandom += rr.steps;
  if (rr.ratio >= factor * r.ratio) accepted.push({ index, size: E.size[index], expr, formula: '', template: '', params: r.params, trueRatio: r.ratio, randomRatio: rr.ratio, randomParams: rr.params, accepted: true });
}
t = now();
const ranked = rankCandidates(accepted);
report.stages.rank = now() - t;
report.stages.fit = tFit;
report.stages.filter = tFilter;
report.counts = { enumerated: E.count, fitted, randomFitted, accepted: accepted.length, lmIterationsTrue: iterTrue, lmIterationsRandom: iterRandom };
report.fittedPerSecond = (fitted + randomFitted) / (tFit + tFilter);
report.loadAfterStages = load();
console.log(JSON.stringify({ system, stages: report.stages, counts: report.counts, fittedPerSecond: report.fittedPerSecond, load: report.loadAfterStages }));

for (const w of workerCounts) {
  const before = load();
  t = now();
  const r = await runChunks({ system: d.system, depth, seed, data, fit }, Array.from({ length: CHUNKS }, (_, c) => c), w);
  const seconds = now() - t;
  const m = mergeChunks(r.results);
  if (m.counts.accepted !== accepted.length || m.ranked[0]?.index !== ranked[0]?.index) {
    throw new Error(`worker search disagrees with the stage loop: ${m.counts.accepted} vs ${accepted.length} accepted`);
  }
  const row = { workers: r.pool.workers, seconds, candidatesPerSecond: E.count / seconds, loadBefore: before, loadAfter: load() };
  report.workers.push(row);
  console.log(JSON.stringify(row));
}
if (report.workers.length > 1) report.speedup = report.workers[0].seconds / report.workers[report.workers.length - 1].seconds;
if (outFile) writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify({ speedup: report.speedup, best: ranked.slice(0, 3).map((c) => E.format(c.index, { params: c.params })) }));

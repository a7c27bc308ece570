#!/usr/bin/env node
// Benchmark (not a test): one meta-training step — outer Adam through one differentiable inner SGD
// step on the Noether loss — for the HNN-size MLP, the 64×64 video model and SVG-LP (64×64), tfjs
// (cpu, wasm) vs the PyTorch peer (bench/peers/meta_step.py). Each peer is its own process, fed
// steps in small chunks in rotating order, so slow drifts of machine load hit every peer alike;
// warm-up is excluded.
//
//   npm run bench -- --quick                 # a few minutes
//   npm run bench                            # the full run (see bench/README.md)
//   node bench/meta-step/run.mjs --help
import { spawn, execSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { bundleWorker, OUT_DIR } from './bundle.mjs';

const PROBLEMS = ['mlp', 'video', 'svg']; // as problems.mjs (not imported here: it pulls in tfjs)

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

const HELP = `usage: node bench/meta-step/run.mjs [options]
  --quick                 few steps (mlp 20, video 3, svg 2; caps tfjs-cpu:mlp=5, tfjs-wasm-stock:video=2,
                          tfjs-wasm-stock:svg=0)
  --problems LIST         mlp,video,svg (default all three)
  --peers LIST            tfjs-cpu,tfjs-wasm,tfjs-wasm-2t,tfjs-wasm-stock,torch,torch-1t,tfjs-node
                          (default tfjs-cpu,tfjs-wasm-stock,tfjs-wasm,torch,torch-1t; tfjs-wasm = wasm as core
                          selects it, with core's kernel replacements (Identity, Cast, Sum, BatchMatMul (SIMD
                          GEMM), Conv2DBackpropInput, Tanh (SIMD), comparisons, Slice/Unpack, Concat, …:
                          packages/core/src/backend/wasm-kernels.ts);
                          tfjs-wasm-2t = the same on 2 threads (--wasm-threads 2: core's kernel pool);
                          tfjs-wasm-stock = tfjs-backend-wasm's own kernels; torch-1t = PyTorch on 1 thread)
  --cap PEER[:PROBLEM]=N  at most N steps (incl. warm-up) for that peer (on that problem), comma-separated;
                          default tfjs-cpu:mlp=12,tfjs-wasm-stock:mlp=30,tfjs-wasm-stock:video=3,tfjs-wasm-stock:svg=0
                          (stock wasm's copying Identity overflows its 4 GiB heap on svg at T = 10; it fits T = 2)
                          (the slow peers)
  --check-fixes           only check core's wasm kernel replacements against the cpu backend, at bench sizes
  --mlp-steps N           steps per peer incl. warm-up (default 200)
  --video-steps N         (default 7: a video step takes seconds to minutes)
  --cpu-video-steps N     cap for tfjs-cpu on video (default 0 = skipped: one step takes > 6 min)
  --svg-steps N           (default 5)
  --cpu-svg-steps N       cap for tfjs-cpu on svg (default 0 = skipped, as for video)
  --svg-horizon T         predicted frames of the svg problem, after 2 context frames (default 10; wasm holds
                          2.4 GB at T = 10, and its heap stops at 4 GiB)
  --svg-inner-lr X        inner SGD lr of the svg problem (default 1e-4, physics101's; a larger one makes
                          the second-order path weigh more in the agreement check)
  --warmup N              excluded steps per peer (default: mlp 2, video and svg 1)
  --chunk N               steps per turn before the next peer runs (default: mlp 10, video and svg 1)
  --torch-threads N       torch.set_num_threads for 'torch' (default 2)
  --torch-device D        cpu (default) or cuda
  --profile               afterwards, one tf.profile'd step per tfjs peer: time per kernel
  --python PATH           (default /usr/bin/python3)
  --out FILE              JSON results (default bench/out/meta-step/results.json)`;

function parseArgs(argv) {
  const o = {
    quick: false, problems: [...PROBLEMS], peers: ['tfjs-cpu', 'tfjs-wasm-stock', 'tfjs-wasm', 'torch', 'torch-1t'], cap: undefined, checkFixes: false,
    mlpSteps: undefined, videoSteps: undefined, cpuVideoSteps: undefined, svgSteps: undefined, cpuSvgSteps: undefined,
    svgHorizon: undefined, svgInnerLr: undefined, warmup: undefined, chunk: undefined,
    torchThreads: 2, torchDevice: 'cpu', profile: false, python: '/usr/bin/python3', out: join(OUT_DIR, 'results.json'),
  };
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value (see --help)`);
      return argv[++i];
    };
    switch (a) {
      case '--help': case '-h': console.log(HELP); process.exit(0);
      case '--quick': o.quick = true; break;
      case '--problems': o.problems = v().split(','); break;
      case '--peers': o.peers = v().split(','); break;
      case '--mlp-steps': o.mlpSteps = num(a, v()); break;
      case '--video-steps': o.videoSteps = num(a, v()); break;
      case '--cpu-video-steps': o.cpuVideoSteps = num(a, v()); break;
      case '--svg-steps': o.svgSteps = num(a, v()); break;
      case '--cpu-svg-steps': o.cpuSvgSteps = num(a, v()); break;
      case '--svg-horizon': o.svgHorizon = num(a, v()); if (o.svgHorizon < 1) throw new Error('--svg-horizon must be ≥ 1'); break;
      case '--svg-inner-lr': o.svgInnerLr = Number(v()); if (!(o.svgInnerLr >= 0)) throw new Error('--svg-inner-lr needs a number ≥ 0'); break;
      case '--warmup': o.warmup = num(a, v()); break;
      case '--chunk': o.chunk = num(a, v()); break;
      case '--torch-threads': o.torchThreads = num(a, v()); break;
      case '--torch-device': o.torchDevice = v(); break;
      case '--profile': o.profile = true; break;
      case '--check-fixes': o.checkFixes = true; break;
      case '--cap':
        o.cap ??= {};
        for (const kv of v().split(',')) {
          const [key, n] = kv.split('=');
          const [peer, problem] = key.split(':');
          if (!PEERS[peer]) throw new Error(`--cap: unknown peer '${peer}' (${Object.keys(PEERS).join(', ')})`);
          if (problem !== undefined && !PROBLEMS.includes(problem)) throw new Error(`--cap: unknown problem '${problem}' in '${kv}'`);
          o.cap[key] = num('--cap', n);
        }
        break;
      case '--python': o.python = v(); break;
      case '--out': o.out = v(); break;
      default: throw new Error(`unknown option '${a}' (see --help)`);
    }
  }
  for (const p of o.problems) if (!PROBLEMS.includes(p)) throw new Error(`--problems: unknown problem '${p}' (${PROBLEMS.join(', ')})`);
  for (const p of o.peers) if (!PEERS[p]) throw new Error(`--peers: unknown peer '${p}' (${Object.keys(PEERS).join(', ')})`);
  o.mlpSteps ??= o.quick ? 20 : 200;
  o.videoSteps ??= o.quick ? 3 : 7;
  o.cpuVideoSteps ??= 0;
  o.svgSteps ??= o.quick ? 2 : 5;
  o.cpuSvgSteps ??= 0;
  o.cap ??= o.quick
    ? { 'tfjs-cpu:mlp': 5, 'tfjs-wasm-stock:video': 2, 'tfjs-wasm-stock:svg': 0 }
    : { 'tfjs-cpu:mlp': 12, 'tfjs-wasm-stock:mlp': 30, 'tfjs-wasm-stock:video': 3, 'tfjs-wasm-stock:svg': 0 };
  return o;
}

const PEERS = {
  'tfjs-cpu': { kind: 'tfjs', backend: 'cpu' },
  'tfjs-wasm': { kind: 'tfjs', backend: 'wasm' },
  'tfjs-wasm-stock': { kind: 'tfjs', backend: 'wasm', stockWasm: true },
  'tfjs-wasm-2t': { kind: 'tfjs', backend: 'wasm', wasmThreads: 2 },
  // Native TensorFlow (tfjs-node, or tfjs-node-gpu where CUDA 11.2 + cuDNN 8.1 exist): not
  // installed here (optional peer dependencies of core), so untested — see bench/README.md.
  'tfjs-node': { kind: 'tfjs', backend: 'tensorflow' },
  torch: { kind: 'torch' },
  'torch-1t': { kind: 'torch', threads: 1 },
};

/** A worker process speaking the line protocol. */
class Peer {
  constructor(name, spec, opts, workerFile) {
    this.name = name;
    this.spec = spec;
    let cmd;
    let args;
    let env = { ...process.env };
    if (spec.kind === 'tfjs') {
      cmd = process.execPath;
      args = ['--max-old-space-size=8192', workerFile];
    } else {
      const threads = spec.threads ?? opts.torchThreads;
      cmd = opts.python;
      args = [join(root, 'bench/peers/meta_step.py'), '--worker', '--threads', String(threads), '--device', opts.torchDevice];
      // OpenBLAS' own pool and OpenMP spin-waiting oversubscribe a loaded 2-core machine (10× slower
      // steps seen): passive waiting, and BLAS threads = torch threads.
      env = { ...env, OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
    }
    this.proc = spawn(cmd, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.pending = [];
    this.exited = false;
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // tfjs' console banners
      const w = this.pending.shift();
      if (w) w.resolve(JSON.parse(line));
    });
    this.proc.on('exit', (code) => {
      this.exited = true;
      for (const w of this.pending.splice(0)) w.reject(new Error(`${name} exited (code ${code}): ${this.stderr.trim().slice(-1500)}`));
    });
  }
  async call(cmd) {
    if (this.exited) throw new Error(`${this.name} is not running: ${this.stderr.trim().slice(-1500)}`);
    const reply = new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const r = await reply;
    if (!r.ok) throw new Error(`${this.name} failed on '${cmd.cmd}': ${r.error}`);
    return r;
  }
  async quit() {
    if (this.exited) return;
    try {
      await this.call({ cmd: 'quit' });
    } catch {
      // already gone
    }
  }
}

const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
};
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const mb = (b) => (b == null ? '–' : `${(b / 2 ** 20).toFixed(0)}`);

async function benchProblem(problem, o, workerFile) {
  const total = { mlp: o.mlpSteps, video: o.videoSteps, svg: o.svgSteps }[problem];
  // svg: the SVG config fields the options change (the tfjs worker dumps the resulting config for torch).
  const overrides = problem === 'svg' ? { ...(o.svgHorizon ? { horizon: o.svgHorizon } : {}), ...(o.svgInnerLr !== undefined ? { innerLr: o.svgInnerLr } : {}) } : undefined;
  const chunk = o.chunk ?? (problem === 'mlp' ? 10 : 1);
  const warmup = o.warmup ?? (problem === 'mlp' ? 2 : 1);
  const dump = join(OUT_DIR, `${problem}-init.json`);
  const log = (s) => console.error(`[bench ${problem}] ${s}`);
  const peers = [];
  try {
    // tfjs peers first: the first writes the initial θ, φ and batches that the torch peers load.
    const order = [...o.peers].sort((a, b) => (PEERS[a].kind === 'tfjs' ? 0 : 1) - (PEERS[b].kind === 'tfjs' ? 0 : 1));
    let dumped = false;
    const rows = [];
    for (const name of order) {
      const spec = PEERS[name];
      let steps = total;
      if (name === 'tfjs-cpu' && problem === 'video') steps = Math.min(steps, o.cpuVideoSteps);
      if (name === 'tfjs-cpu' && problem === 'svg') steps = Math.min(steps, o.cpuSvgSteps);
      if (o.cap[name] !== undefined) steps = Math.min(steps, o.cap[name]);
      if (o.cap[`${name}:${problem}`] !== undefined) steps = Math.min(steps, o.cap[`${name}:${problem}`]);
      if (steps === 0) {
        log(`${name}: skipped (0 steps asked)`);
        continue;
      }
      const p = new Peer(name, spec, o, workerFile);
      peers.push(p);
      const setup = spec.kind === 'tfjs'
        ? { cmd: 'setup', problem, backend: spec.backend, stockWasm: !!spec.stockWasm, wasmThreads: spec.wasmThreads, dump: dumped ? undefined : dump, overrides, noiseSteps: total + 2 }
        : { cmd: 'setup', problem, load: dumped ? dump : undefined, overrides };
      if (spec.kind === 'torch' && !dumped) log('no tfjs peer: torch starts from its own random init (no cross-check)');
      const info = await p.call(setup);
      if (spec.kind === 'tfjs') dumped = true;
      rows.push({ peer: name, p, info, target: steps, done: 0, times: [], cpu: [], mem: [], first: null });
      log(`${name} ready (${info.backend}${info.threads ? `, ${info.threads} threads` : ''}; θ ${info.params.theta}, φ ${info.params.phi} parameters)`);
    }
    // Warm-up (excluded). Its first step's loss and gradient norms cross-check the implementations.
    for (const r of rows) {
      const n = Math.min(warmup, r.target);
      if (!n) continue;
      const first = await r.p.call({ cmd: 'run', n: 1 });
      r.first = first.report;
      if (n > 1) await r.p.call({ cmd: 'run', n: n - 1 });
      r.done = n;
      r.mem.push({ step: r.done, rss: first.rss, numTensors: first.numTensors });
      log(`${r.peer} warm-up: step-1 loss ${r.first.loss.toPrecision(7)}, |g_θ| ${r.first.gradNormTheta.toPrecision(5)}, |g_φ| ${r.first.gradNormPhi.toPrecision(5)}`);
    }
    // Timed rounds: a chunk per peer per turn, rotating who goes first.
    let round = 0;
    const t0 = Date.now();
    while (rows.some((r) => r.done < r.target)) {
      const live = rows.filter((r) => r.done < r.target);
      for (let i = 0; i < live.length; i++) {
        const r = live[(i + round) % live.length];
        const n = Math.min(chunk, r.target - r.done);
        const res = await r.p.call({ cmd: 'run', n });
        r.times.push(...res.times);
        r.cpu.push(...res.cpu);
        r.done = res.steps;
        r.mem.push({ step: r.done, rss: res.rss, numTensors: res.numTensors });
        r.last = res.report;
      }
      round++;
      const el = (Date.now() - t0) / 1000;
      log(`round ${round}: ${rows.map((r) => `${r.peer} ${r.done}/${r.target} (${median(r.times).toFixed(0)} ms)`).join(', ')}; ${el.toFixed(0)} s; load ${loadavg()}`);
    }
    if (o.profile) {
      for (const r of rows.filter((x) => PEERS[x.peer].kind === 'tfjs')) {
        r.profile = await r.p.call({ cmd: 'profile' });
        log(`${r.peer} profile: ${r.profile.wall.toFixed(0)} ms wall, ${r.profile.kernelMs.toFixed(0)} ms in ${r.profile.calls} kernel calls`);
      }
    }
    return rows.map(({ p, ...r }) => r);
  } finally {
    await Promise.all(peers.map((p) => p.quit()));
  }
}

function table(problem, rows, torchName) {
  const ref = rows.find((r) => r.peer === torchName) ?? rows.find((r) => PEERS[r.peer].kind === 'torch');
  const refMed = ref ? median(ref.times) : NaN;
  const refCpu = ref ? median(ref.cpu) : NaN;
  const lines = [
    `| problem | peer | timed steps | median ms/step (p10–p90) | × ${ref?.peer ?? 'torch'} | median CPU ms/step | step-1 loss | RSS MB first → last | numTensors first → last |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (!r.times.length) {
      lines.push(`| ${problem} | ${r.peer} | 0 | – | – | – | ${r.first ? r.first.loss.toPrecision(6) : '–'} | – | – |`);
      continue;
    }
    const med = median(r.times);
    const first = r.mem[0];
    const last = r.mem[r.mem.length - 1];
    const tensors = first?.numTensors == null ? 'n/a' : `${first.numTensors} → ${last.numTensors}`;
    lines.push(`| ${problem} | ${r.peer} | ${r.times.length} | ${med.toFixed(0)} (${quantile(r.times, 0.1).toFixed(0)}–${quantile(r.times, 0.9).toFixed(0)}) | ${ref && r !== ref ? (med / refMed).toFixed(2) : ref === r ? '1' : '–'} | ${median(r.cpu).toFixed(0)}${ref && r !== ref ? ` (×${(median(r.cpu) / refCpu).toFixed(2)})` : ''} | ${r.first ? r.first.loss.toPrecision(6) : '–'} | ${mb(first?.rss)} → ${mb(last?.rss)} (step ${first?.step} → ${last?.step}) | ${tensors} |`);
  }
  return lines.join('\n');
}

function profileTable(rows) {
  const out = [];
  for (const r of rows) {
    if (!r.profile) continue;
    out.push(`\n${r.peer}: one profiled step, ${r.profile.wall.toFixed(0)} ms wall, ${r.profile.kernelMs.toFixed(0)} ms in ${r.profile.calls} kernels`);
    out.push('| kernel | ms | share | calls |', '|---|---|---|---|');
    for (const k of r.profile.kernels.slice(0, 12)) out.push(`| ${k.name} | ${k.ms.toFixed(0)} | ${((100 * k.ms) / r.profile.kernelMs).toFixed(1)}% | ${k.calls} |`);
  }
  return out.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const startLoad = loadavg();
  const workerFile = await bundleWorker({ quiet: false });
  if (o.checkFixes) {
    const p = new Peer('tfjs-wasm', PEERS['tfjs-wasm'], o, workerFile);
    try {
      await p.call({ cmd: 'setup', problem: 'mlp', backend: 'wasm' });
      const { cases } = await p.call({ cmd: 'check-fixes' });
      let bad = 0;
      for (const c of cases) {
        const ok = c.maxAbsErr <= 1e-5 * Math.max(1, c.maxAbs);
        if (!ok) bad++;
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.name}: max |wasm − cpu| ${c.maxAbsErr.toExponential(2)} (max |value| ${c.maxAbs.toFixed(2)})`);
      }
      if (bad) throw new Error(`${bad} of core's wasm kernel replacement(s) disagree with the cpu backend`);
    } finally {
      await p.quit();
    }
    return;
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`;
  let torchVersion = '?';
  try {
    torchVersion = execSync(`${o.python} -c "import torch; print(torch.__version__)"`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // the peer will report it (and install torch) itself
  }
  console.error(`[bench] ${machine}; torch ${torchVersion}; load average at start: ${startLoad}`);
  const results = { command: `node bench/meta-step/run.mjs ${process.argv.slice(2).join(' ')}`.trim(), machine, torch: torchVersion, options: o, startLoad, problems: {} };
  const tables = [];
  for (const problem of o.problems) {
    const rows = await benchProblem(problem, o, workerFile);
    results.problems[problem] = rows;
    tables.push(table(problem, rows, 'torch'));
    if (o.profile) tables.push(profileTable(rows));
  }
  results.endLoad = loadavg();
  const md = [
    `command: \`${results.command}\``,
    `machine: ${machine}; torch ${torchVersion} (${o.torchThreads} threads); load average (1/5/15 min) at start ${startLoad}, at end ${results.endLoad}; ${new Date().toISOString()}`,
    '',
    ...tables,
  ].join('\n');
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(`${o.out}.tmp`, JSON.stringify(results, null, 1));
  renameSync(`${o.out}.tmp`, o.out);
  const mdFile = o.out.replace(/\.json$/, '') + '.md';
  writeFileSync(`${mdFile}.tmp`, `${md}\n`);
  renameSync(`${mdFile}.tmp`, mdFile);
  console.log(md);
  console.error(`[bench] wrote ${o.out} and ${mdFile}`);
}

main().catch((e) => {
  console.error(`bench: ${e?.message ?? e}`);
  process.exit(1);
});

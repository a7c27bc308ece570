// One tfjs benchmark process (one backend, one problem), driven by run.mjs over stdin/stdout:
// one JSON command per line in, one JSON reply per line out. The PyTorch peer
// (bench/peers/meta_step.py --worker) speaks the same protocol.
//   {"cmd":"setup","problem":"mlp"|"video"|"svg","backend":"cpu"|"wasm","seed":1,"dump":"path?","stockWasm":false,
//    "overrides":{},"noiseSteps":N}
//     stockWasm: put tfjs-backend-wasm's own kernels back in place of core's replacements
//     overrides (svg): SVG config fields to change (horizon, innerLr, ...)
//     noiseSteps (svg, with dump): dump the posterior ε of meta-steps 0..N−1 (default 64)
//   {"cmd":"check-fixes"}         → core's replaced wasm kernels vs the cpu backend (max abs error)
//   {"cmd":"run","n":5}            → per-step ms, last loss / grad norms, RSS, numTensors
//   {"cmd":"profile"}              → one step under tf.profile: time per kernel
//   {"cmd":"quit"}
import { createInterface } from 'node:readline';
import { writeFileSync, renameSync } from 'node:fs';
import * as core from '@noether/core';
import { buildProblem, svgNoise } from './problems.mjs';
import { installWasmThreadShim, spawnKernelWorker } from '../../apps/cli/src/run/wasm-threads.ts';

const { tf, initMetaState, metaStep, selectBackend, registerWasmKernels, restoreStockWasmKernels, WASM_REPLACED_KERNELS } = core;

let stockKernels = [];
const restoredStock = (k) => stockKernels.includes(k);

function encodeParams(p) {
  const out = {};
  for (const [k, t] of Object.entries(p)) out[k] = encodeTensor(t);
  return out;
}
function encodeTensor(t) {
  const data = t.dataSync();
  return { shape: t.shape, b64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

let prob; // { setup, batches, ... }
let state;
let steps = 0;

function send(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function oneStep() {
  const batch = prob.batches[steps % prob.batches.length];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = metaStep(prob.setup, state, batch);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0); // µs of CPU (all threads: user + system)
  state = r.state;
  steps++;
  return { ms, cpuMs: (c.user + c.system) / 1000, report: r.report };
}

const handlers = {
  async setup(c) {
    const choice = await selectBackend({ backend: c.backend, quiet: true, wasmThreads: c.wasmThreads, beforeWasmInit: installWasmThreadShim, spawnWorker: spawnKernelWorker });
    if ((c.wasmThreads ?? 1) > 1 && choice.threads !== c.wasmThreads) throw new Error(`wasm threads: ${choice.note}`);
    if (c.stockWasm && tf.getBackend() !== 'wasm') throw new Error('stockWasm needs the wasm backend');
    if (c.stockWasm) stockKernels = restoreStockWasmKernels();
    // Which of core's wasm kernel replacements are active (selectBackend registers them).
    const fixed = tf.getBackend() === 'wasm' ? WASM_REPLACED_KERNELS.filter((k) => !restoredStock(k)) : [];
    const built = buildProblem(c.problem, c.seed ?? 1, c.overrides ?? {});
    if (c.dump) {
      // Initial θ, φ and the batches, so the PyTorch peer starts from identical numbers.
      const payload = {
        problem: c.problem, config: built.config, theta: encodeParams(built.theta), phi: encodeParams(built.phi),
        batches: built.batches.map((b) => encodeTensor(b.obs)),
      };
      if (built.setup.predictor.noiseShape) {
        // The stochastic predictor's ε of each meta-step, [steps, T, B, z], drawn by core's makeWindow.
        const n = c.noiseSteps ?? 64;
        const eps = tf.tidy(() => tf.stack(Array.from({ length: n }, (_, i) => svgNoise(built, i))));
        payload.noise = encodeTensor(eps);
        eps.dispose();
      }
      const tmp = `${c.dump}.tmp`;
      writeFileSync(tmp, JSON.stringify(payload));
      renameSync(tmp, c.dump);
    }
    prob = built;
    state = initMetaState(built.setup, built.theta, built.phi);
    return {
      backend: tf.getBackend(), tfjs: tf.version_core, fixed,
      params: { theta: core.countParams(built.theta), phi: core.countParams(built.phi) },
    };
  },
  run(c) {
    const times = [];
    const cpu = [];
    let report;
    for (let i = 0; i < c.n; i++) {
      const r = oneStep();
      times.push(r.ms);
      cpu.push(r.cpuMs);
      report = r.report;
    }
    return { times, cpu, steps, report, rss: process.memoryUsage().rss, numTensors: tf.memory().numTensors };
  },
  async profile() {
    const batch = prob.batches[steps % prob.batches.length];
    let next;
    const t0 = performance.now();
    const info = await tf.profile(() => {
      next = metaStep(prob.setup, state, batch);
    });
    const wall = performance.now() - t0;
    state = next.state;
    steps++;
    const by = new Map();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      by.set(k.name, e);
    }
    const kernels = [...by.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
    return { wall, kernelMs: kernels.reduce((s, k) => s + k.ms, 0), calls: info.kernels.length, kernels };
  },
  async 'check-fixes'() {
    // Each case on cpu and on wasm with core's replaced kernels, at bench sizes; forward values.
    // (The unit tests are packages/core/test/backend/wasm-kernels.test.ts.)
    const cases = [];
    const convCases = [
      { x: [2, 64, 64, 3], w: [4, 4, 3, 8], s: 2, pad: 'same' },
      { x: [2, 16, 16, 8], w: [3, 3, 8, 5], s: 1, pad: 'same' },
      { x: [2, 32, 32, 6], w: [5, 5, 6, 4], s: 1, pad: 'same' },
      { x: [1, 15, 13, 3], w: [3, 3, 3, 4], s: 2, pad: 'valid' },
      { x: [1, 15, 13, 3], w: [4, 4, 3, 4], s: 2, pad: 'same' },
    ];
    const mmCases = [[[7, 5], [5, 3], false, false], [[5, 7], [5, 3], true, false], [[7, 5], [3, 5], false, true], [[5, 7], [3, 5], true, true], [[4, 7, 5], [5, 3], false, false], [[4, 5, 7], [3, 5], true, true]];
    const compute = () => [
      ...convCases.map((c) => {
        const dyShape = tf.conv2d(tf.zeros(c.x), tf.zeros(c.w), c.s, c.pad).shape;
        return { name: `conv2dBackpropInput x${c.x} w${c.w} s${c.s} ${c.pad}`, f: (r) => tf.conv2dTranspose(r(dyShape), r(c.w), c.x, c.s, c.pad) };
      }),
      { name: 'equal [2,4,2,3,2,5] vs [2,4,1,3,1,5] (max-pool mask)', f: (r) => { const x = tf.round(tf.mul(r([2, 4, 2, 3, 2, 5]), 2)); return tf.cast(tf.equal(x, tf.max(x, [2, 4], true)), 'float32'); } },
      { name: 'greater [3,1,4] vs [1,5,1]', f: (r) => tf.cast(tf.greater(r([3, 1, 4]), r([1, 5, 1])), 'float32') },
      { name: 'tanh [256,200] (N(0, 2))', f: (r) => tf.tanh(tf.mul(r([256, 200]), 2)) },
      ...mmCases.map(([a, b, ta, tb]) => ({ name: `matMul ${a}${ta ? 'ᵀ' : ''} · ${b}${tb ? 'ᵀ' : ''}`, f: (r) => tf.matMul(r(a), r(b), ta, tb) })),
    ];
    const runAll = () => {
      const r0 = new core.Rng(11);
      const r = (shape) => tf.tensor(r0.uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
      return compute().map((c) => ({ name: c.name, v: tf.tidy(() => c.f(r)).arraySync() }));
    };
    const prev = tf.getBackend();
    await tf.setBackend('cpu');
    const ref = runAll();
    await tf.setBackend('wasm');
    registerWasmKernels();
    const got = runAll();
    await tf.setBackend(prev);
    const flat = (v) => (Array.isArray(v) ? v.flat(Infinity) : [v]);
    for (let i = 0; i < ref.length; i++) {
      const a = flat(ref[i].v);
      const b = flat(got[i].v);
      let err = a.length === b.length ? 0 : Infinity;
      let scale = 0;
      for (let j = 0; j < a.length; j++) {
        err = Math.max(err, Math.abs(a[j] - b[j]));
        scale = Math.max(scale, Math.abs(a[j]));
      }
      cases.push({ name: ref[i].name, maxAbsErr: err, maxAbs: scale });
    }
    return { cases };
  },
  quit() {
    setImmediate(() => process.exit(0));
    return { bye: true };
  },
};

// Commands run one after another (setup is async), in arrival order.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let c;
    try {
      c = JSON.parse(line);
      const h = handlers[c.cmd];
      if (!h) throw new Error(`unknown command '${c.cmd}'`);
      send({ ok: true, cmd: c.cmd, ...(await h(c)) });
    } catch (e) {
      send({ ok: false, cmd: c?.cmd, error: String(e?.stack ?? e) });
    }
  });
});

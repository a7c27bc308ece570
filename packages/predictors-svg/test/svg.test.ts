import { describe, it, expect } from 'vitest';
import {
  tf, nn, makeWindow, predictSequence, metaLoss, initMetaState, metaStep, disposeMetaState, createContainer, findFactory, TOKENS,
  GradientInnerOptimizer, noPeekingCheck, rollout, scopeParams, type MetaSetup, type Predictor, type Params, type State,
  type StepInput,
} from '@noether/core';
import {
  SvgPredictor, SvgActionPredictor, ConvNet, tinySvg, tinySvgAction, tinyEmbedding, tinyBatch, tinySetup, auditCases, register,
  type SvgOptions, type SvgState,
} from '../src/index.js';

const vals = (p: Params) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.from(v.dataSync())]));
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;

describe('architecture', () => {
  it('the default 128×128 VGG SVG has the paper CN layout: 14 + 13 norm layers, 17,152 CN parameters per example', () => {
    const net = new SvgPredictor().net; // ConvNet only describes layers; no tensors are made
    const normed = net.layers().filter((l) => l.norm);
    expect(normed.filter((l) => l.name.startsWith('enc/')).length).toBe(14);
    expect(normed.filter((l) => l.name.startsWith('dec/')).length).toBe(13);
    expect(normed.reduce((n, l) => n + 2 * l.outC, 0)).toBe(17152);
    const dc = new ConvNet({ arch: 'dcgan', frameSize: 64, channels: 3, widths: [64, 128, 256, 512], convsPerBlock: [], gDim: 128, norm: 'group', initStd: 0.02 });
    expect(dc.layers().map((l) => `${l.name}:${l.inC}->${l.outC}`)).toEqual([
      'enc/b0:3->64', 'enc/b1:64->128', 'enc/b2:128->256', 'enc/b3:256->512', 'enc/out:512->128',
      'dec/in:128->512', 'dec/b3:1024->256', 'dec/b2:512->128', 'dec/b1:256->64', 'dec/out:128->3',
    ]);
  });

  it('the default widths reproduce edenton/svg models/vgg_128.py and dcgan_128.py layer by layer', () => {
    // in>out, T for a transposed conv, /kernel size.
    const io = (n: ConvNet) => n.layers().map((l) => `${l.inC}>${l.outC}${l.transpose ? 'T' : ''}/${l.k}`).join(' ');
    // vgg_128.py: c1 2×64, c2 2×128, c3 3×256, c4 3×512, c5 3×512, c6 4×4 conv; decoder upc1 4×4
    // conv-transpose, upc2…upc6 (the concat doubles the input), final 3×3 conv-transpose to nc.
    expect(io(new SvgPredictor().net)).toBe([
      '3>64/3 64>64/3 64>128/3 128>128/3 128>256/3 256>256/3 256>256/3 256>512/3 512>512/3 512>512/3 512>512/3 512>512/3 512>512/3',
      '512>128/4 128>512T/4',
      '1024>512/3 512>512/3 512>512/3 1024>512/3 512>512/3 512>256/3 512>256/3 256>256/3 256>128/3 256>128/3 128>64/3 128>64/3 64>3T/3',
    ].join(' '));
    const dc = new SvgPredictor({ arch: 'dcgan', frameSize: 128 }).net;
    expect(io(dc)).toBe('3>64/4 64>128/4 128>256/4 256>512/4 512>512/4 512>128/4 128>512T/4 1024>512T/4 1024>256T/4 512>128T/4 256>64T/4 128>3T/4');
  });

  it('init follows the reference code: conv/dense N(0, initStd); LSTM cells PyTorch-default U(±1/√H), forget bias 1 on the frame predictor only; GroupNorm scales 1', () => {
    // edenton/svg utils.init_weights matches only Conv*/Linear/BatchNorm class names, so nn.LSTMCell keeps
    // PyTorch's U(±1/√H) weights and biases (bias_ih + bias_hh); the Noether code then sets the frame
    // predictor's bias_ih forget slice to 1 (init_forget_bias_to_one) and swaps BatchNorm for a fresh
    // GroupNorm(1, C) (weight 1) after init.
    const H = 64;
    const p = tinySvg({ rnnSize: H, initStd: 0.2 });
    const theta = p.init(1);
    const v = (k: string) => Array.from(theta[k]!.dataSync());
    const lim = 1 / Math.sqrt(H);
    const std = (a: number[]) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    for (const pre of ['fp', 'prior', 'post']) {
      for (const w of ['wx', 'wh']) {
        const a = v(`${pre}/l0/${w}`);
        expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(lim);
        expect(std(a) / (lim / Math.sqrt(3))).toBeGreaterThan(0.9);
        expect(std(a) / (lim / Math.sqrt(3))).toBeLessThan(1.1);
      }
      const b = v(`${pre}/l0/b`);
      const forget = b.slice(H, 2 * H);
      const rest = [...b.slice(0, H), ...b.slice(2 * H)];
      expect(Math.max(...rest.map(Math.abs))).toBeLessThanOrEqual(2 * lim);
      expect(std(rest)).toBeGreaterThan(0.5 * lim); // two draws summed, not zeros
      const centre = pre === 'fp' ? 1 : 0;
      expect(Math.max(...forget.map((x) => Math.abs(x - centre)))).toBeLessThanOrEqual((pre === 'fp' ? 1 : 2) * lim);
      expect(std(forget.map((x) => x - centre))).toBeGreaterThan(0.3 * lim);
    }
    // Dense layers around the cells: N(0, initStd), zero bias.
    expect(std(v('fp/embed/w')) / 0.2).toBeGreaterThan(0.9);
    expect(v('post/logvar/b').every((x) => x === 0)).toBe(true);
    expect(v('enc/b0/norm/scale').every((x) => x === 1)).toBe(true);
    const bn = tinySvg({ norm: 'batch' }).init(1);
    const scale = Array.from(bn['enc/b0/norm/scale']!.dataSync());
    expect(scale.some((x) => x !== 1) && scale.every((x) => Math.abs(x - 1) < 0.2)).toBe(true);
    tf.dispose([...Object.values(theta), ...Object.values(bn)]);
  });

  for (const arch of ['dcgan', 'vgg'] as const) {
    it(`${arch} 16×16: encoder/decoder, CN and rollout shapes; KL aux only when teacher forcing`, () => {
      const p = tinySvg({ arch, frameSize: 16, widths: [3, 4], convsPerBlock: [1, 2], norm: arch === 'vgg' ? 'batch' : 'group' });
      const theta = p.init(1);
      const b = tinyBatch(2, 2, 4, 16);
      const { h, skips } = p.net.encode(theta, tf.unstack(b.obs, 1)[0]!);
      expect(h.shape).toEqual([2, 4]);
      expect(skips.map((s) => s.shape)).toEqual(arch === 'dcgan' ? [[2, 8, 8, 3], [2, 4, 4, 4]] : [[2, 16, 16, 3], [2, 8, 8, 4]]);
      const cn = p.conditioning(theta, 2);
      for (const [k, v] of Object.entries(cn)) {
        expect(k).toMatch(/^cn\/(enc|dec)\/.*\/(gamma|beta)$/);
        expect(v.shape[0]).toBe(2);
        expect(Array.from(v.dataSync()).every((x) => x === (k.endsWith('gamma') ? 1 : 0))).toBe(true);
      }
      for (const tf_ of [true, false]) {
        const w = makeWindow(p, b, { contextLength: 2, teacherForcing: tf_, noiseSeed: 0 });
        let s: State = p.initState({ ...theta, ...cn }, w.seq.context);
        for (const input of w.seq.inputs) {
          s = p.step({ ...theta, ...cn }, s, input);
          expect(s.obs.shape).toEqual([2, 16, 16, 3]);
          const x = s.obs.dataSync();
          expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
          expect(Math.max(...x)).toBeLessThanOrEqual(1);
          if (tf_) {
            expect(s.aux!.shape).toEqual([]);
            expect(s.aux!.dataSync()[0]!).toBeGreaterThan(0);
            expect((s as SvgState).input).toBe(input.target); // teacher forcing feeds the ground truth
          } else {
            expect(s.aux).toBeUndefined();
            expect((s as SvgState).input).toBe(s.obs);
          }
        }
      }
    });
  }

  it('autoregressive prediction uses the given ε: same ε → same frames, other ε → other frames', () => {
    const p = tinySvg();
    const theta = p.init(1);
    const b = tinyBatch(2, 2, 3, 8);
    const run = (seed: number) => {
      const w = makeWindow(p, b, { contextLength: 2, noiseSeed: seed });
      return p.step(theta, p.initState(theta, w.seq.context), w.seq.inputs[0]!).obs;
    };
    expect(maxAbsDiff(run(1), run(1))).toBe(0);
    expect(maxAbsDiff(run(1), run(2))).toBeGreaterThan(0);
  });

  it('svg-action: the action changes the prediction; missing actions are a clear error', () => {
    const p = tinySvgAction({ contextLength: 3 });
    const theta = p.init(1);
    const b = tinyBatch(2, 2, 4, 8, 3, 1);
    const w = makeWindow(p, b, { contextLength: 3 });
    const s0 = p.initState(theta, w.seq.context, { actions: w.seq.actions });
    expect(Object.keys(s0.latent!).sort()).toEqual(['fp/c0', 'fp/h0']);
    const a = p.step(theta, s0, w.seq.inputs[0]!).obs;
    const c = p.step(theta, s0, { ...w.seq.inputs[0]!, action: tf.mul(w.seq.inputs[0]!.action!, -3) }).obs;
    expect(a.shape).toEqual([2, 8, 8, 3]);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
    expect(() => p.initState(theta, w.seq.context)).toThrow(/actions/);
    expect(() => p.step(theta, s0, { t: 1 })).toThrow(/action/);
  });
});

function tailorOnce(predictor: Predictor, mode: 'cn' | 'latent', actions: boolean) {
  const theta = predictor.init(1);
  const before = vals(theta);
  const emb = tinyEmbedding();
  const b = tinyBatch(4, 2, 4, 8, 3, actions ? 1 : undefined);
  const w = makeWindow(predictor, b, { contextLength: 2, noiseSeed: 3 });
  const out = predictSequence(
    { predictor, theta, embedding: emb, phi: emb.init(2), inner: new GradientInnerOptimizer({ steps: 1, lr: 0.5 }), form: '2b', mode },
    w.seq, { differentiable: false, untailored: true },
  );
  return { theta, before, out };
}

describe('tailoring', () => {
  it("CNGRAD ('cn'): only the per-example γ, β change; θ is untouched; the prediction changes", () => {
    const p = tinySvg({ widths: [4] });
    const { theta, before, out } = tailorOnce(p, 'cn', false);
    const cn = p.conditioning(theta, 2);
    expect(Object.keys(out.vars).sort()).toEqual(Object.keys(cn).sort());
    let changed = 0;
    for (const [k, v] of Object.entries(out.vars)) if (maxAbsDiff(v, cn[k]!) > 0) changed++;
    expect(changed).toBe(Object.keys(cn).length); // every γ and β got a gradient
    expect(vals(theta)).toEqual(before);
    expect(maxAbsDiff(out.tailored.preds[1]!, out.untailored!.preds[1]!)).toBeGreaterThan(0);
  });

  it("latent ('latent', svg-action): only the LSTM activations change; θ is untouched", () => {
    const p = tinySvgAction();
    const { theta, before, out } = tailorOnce(p, 'latent', true);
    expect(Object.keys(out.vars).sort()).toEqual(['fp/c0', 'fp/h0']);
    expect(vals(theta)).toEqual(before);
    expect(maxAbsDiff(out.tailored.preds[1]!, out.untailored!.preds[1]!)).toBeGreaterThan(0);
  });

  it("mode 'all' on svg adapts encoder, decoder and frame predictor but not the prior/posterior", () => {
    const p = tinySvg();
    const names = p.tailoredNames(p.init(1));
    expect(names.some((n) => n.startsWith('enc/')) && names.some((n) => n.startsWith('dec/')) && names.some((n) => n.startsWith('fp/'))).toBe(true);
    expect(names.some((n) => n.startsWith('prior/') || n.startsWith('post/'))).toBe(false);
  });
});

/** Meta-gradient through one inner step vs Richardson-extrapolated central differences. */
function fdCheck(kind: 'svg' | 'svg-action', mode: 'cn' | 'latent', picks: string[], lr = 20, svg?: Partial<SvgOptions>) {
  const a = tinySetup(kind, mode, { lr, activation: 'elu', svg });
  const loss = (theta: Params) => metaLoss(a.setup, theta, a.phi, a.batch, 0);
  const grads = (firstOrder: boolean) => tf.tidy(() => {
    const s = { ...a.setup, inner: new GradientInnerOptimizer({ steps: 1, lr, firstOrder }) };
    const names = picks;
    const g = tf.grads((...ts: tf.Tensor[]) => metaLoss(s, { ...a.theta, ...Object.fromEntries(names.map((n, i) => [n, ts[i]!])) }, a.phi, a.batch, 0))(names.map((n) => a.theta[n]!));
    return g.map((t) => Array.from(t.dataSync()));
  });
  const got = grads(false);
  const fo = grads(true);
  const h = 3e-3;
  let checked = 0, secondOrderMatters = 0;
  picks.forEach((name, k) => {
    // the two largest-gradient entries of each tensor
    const order = got[k]!.map((v, i) => [Math.abs(v), i] as const).sort((x, y) => y[0] - x[0]).slice(0, 2);
    for (const [, i] of order) {
      const base = a.theta[name]!.dataSync();
      const at = (d: number) => tf.tidy(() => {
        const v = base.slice();
        v[i] = v[i]! + d;
        return loss({ ...a.theta, [name]: tf.tensor(v, a.theta[name]!.shape) }).dataSync()[0]!;
      });
      const d1 = (at(h) - at(-h)) / (2 * h);
      const d2 = (at(2 * h) - at(-2 * h)) / (4 * h);
      const fd = (4 * d1 - d2) / 3;
      const g = got[k]![i]!;
      const tol = 5e-3 * Math.abs(fd) + 2e-5;
      expect(Math.abs(g - fd), `${name}[${i}]: tfjs ${g}, fd ${fd}`).toBeLessThan(tol);
      if (Math.abs(fo[k]![i]! - fd) > 2 * tol) secondOrderMatters++;
      checked++;
    }
  });
  expect(checked).toBe(2 * picks.length);
  // The check is sensitive to the second-order terms: the first-order meta-gradient misses them.
  expect(secondOrderMatters).toBeGreaterThan(0);
}

describe('meta-gradient (second order through one inner step)', () => {
  // ELU instead of LeakyReLU: LeakyReLU's derivative jumps, so a meta-loss through an inner gradient
  // step jumps wherever a pre-activation crosses 0 and central differences are meaningless there.
  // Inner lr 20 makes the second-order terms ~1–10% of the meta-gradient. Tolerance: the loss is
  // ~0.2 in float32; over h = 3e-3…1e-3 the differences of these entries agree to ~0.1%, so 0.5%
  // relative + 2e-5 absolute, below the first-order/second-order gap asserted in fdCheck.
  it("svg, mode 'cn', group norm: matches central differences", () => {
    fdCheck('svg', 'cn', ['enc/b0/w', 'enc/out/norm/scale', 'dec/out/w', 'fp/l0/wh']);
  });
  // The reference code's options put more on the second-order tape: skips of each step's own input
  // (teacher-forced targets here), the context steps' sampled z and their KL in the loss.
  it("svg with the reference code's options (every-step skips, sampled context z, context KL), mode 'cn': matches central differences", () => {
    fdCheck('svg', 'cn', ['enc/b0/w', 'dec/out/w', 'fp/l0/wh', 'post/l0/wh'], 20, { skips: 'every-step', contextZ: 'sample', contextKl: true });
  });
  it("svg-action, mode 'cn': matches central differences", () => {
    fdCheck('svg-action', 'cn', ['enc/b0/w', 'dec/out/w']);
  });
  // In mode 'latent' the tailored variables are non-leaf functions of θ (the LSTM h/c after encoding
  // the context, with h = o·tanh(c) already on the tape): the inner gradient must still treat h and
  // c as independent (core's valueAndGradsOf), or the meta-gradient is off by 5–10%.
  it("svg-action, mode 'latent': matches central differences", () => {
    fdCheck('svg-action', 'latent', ['enc/b0/w', 'dec/out/w']);
  });
});

describe('encoder code carried to the next step', () => {
  // The pre-carry behaviour: every step encodes its input frame again.
  const withoutCarry = (p: Predictor): Predictor => {
    const strip = (s: State) => {
      const { inputCode: _c, ...rest } = s as SvgState;
      return rest as State;
    };
    const q = Object.create(p) as Predictor;
    q.initState = (...a: Parameters<Predictor['initState']>) => strip(p.initState(...a));
    q.step = (th, s, i) => strip(p.step(th, strip(s), i));
    return q;
  };
  const countEncodes = (p: { net: ConvNet }) => {
    const encode = p.net.encode.bind(p.net);
    const counter = { n: 0 };
    p.net.encode = (...a) => (counter.n++, encode(...a));
    return counter;
  };
  const cases: [string, 'svg' | 'svg-action', 'cn' | 'latent', boolean][] = [
    ['svg, teacher forcing', 'svg', 'cn', true],
    ['svg, autoregressive', 'svg', 'cn', false],
    ['svg-action, latent', 'svg-action', 'latent', false],
  ];
  for (const [name, kind, mode, teacherForcing] of cases) {
    it(`${name}: same meta-loss and meta-gradients, fewer encoder passes`, () => {
      const a = tinySetup(kind, mode, { teacherForcing });
      const p = a.setup.predictor as SvgPredictor | SvgActionPredictor;
      const counter = countEncodes(p);
      const grads = (predictor: Predictor) => tf.tidy(() => {
        // Autoregressive SVG-LP: the posterior does not reach the loss.
        const names = Object.keys(a.theta).filter((n) => teacherForcing || !n.startsWith('post/'));
        const f = (...ts: tf.Tensor[]) => metaLoss({ ...a.setup, predictor }, { ...a.theta, ...Object.fromEntries(names.map((n, i) => [n, ts[i]!])) }, a.phi, a.batch, 0);
        const before = counter.n;
        const { value, grads: g } = tf.valueAndGrads(f)(names.map((n) => a.theta[n]!));
        return { n: counter.n - before, loss: value.dataSync()[0]!, g: g.map((t) => Array.from(t.dataSync())) };
      });
      const carried = grads(p);
      const plain = grads(withoutCarry(p));
      expect(carried.loss).toBe(plain.loss); // the forward computation is the same, bit for bit
      let maxRel = 0;
      carried.g.forEach((g, i) => g.forEach((v, j) => {
        const w = plain.g[i]![j]!;
        maxRel = Math.max(maxRel, Math.abs(v - w) / (Math.abs(w) + 1e-6));
      }));
      expect(maxRel).toBeLessThan(1e-4); // only the order of float32 gradient sums differs
      // Two rollouts of T steps (inner loss, tailored) after C context frames, encoded in each
      // rollout's initState (once, outside both, in mode 'latent'). Teacher forcing: 2T encodes
      // per rollout → T; autoregressive: step 1 reuses the last context frame's code, T → T − 1.
      const T = a.setup.horizon!;
      const C = p.contextLength * (mode === 'latent' ? 1 : 2);
      expect(plain.n).toBe(C + 2 * (teacherForcing ? 2 * T : T));
      expect(carried.n).toBe(C + 2 * (teacherForcing ? T : T - 1));
      tf.dispose([a.batch.obs, ...(a.batch.actions ? [a.batch.actions] : []), ...Object.values(a.theta), ...Object.values(a.phi)]);
    });
  }

  it('a state whose input was replaced is encoded again (the carried code belongs to the old input)', () => {
    const p = tinySvg();
    const theta = p.init(1);
    const b = tinyBatch(2, 2, 3, 8);
    const w = makeWindow(p, b, { contextLength: 2, teacherForcing: true, noiseSeed: 0 });
    const s0 = p.initState(theta, w.seq.context) as SvgState;
    expect(s0.inputCode!.of).toBe(s0.input);
    const other = tf.unstack(b.obs, 1)[2]!;
    const counter = countEncodes(p);
    const a = p.step(theta, { ...s0, input: other } as State, w.seq.inputs[0]!) as SvgState;
    expect(counter.n).toBe(2); // the replaced input and the target
    const r = p.step(theta, { ...s0, input: other, inputCode: undefined } as State, w.seq.inputs[0]!);
    expect(maxAbsDiff(a.obs, r.obs)).toBe(0);
    expect(a.inputCode!.of).toBe(w.seq.inputs[0]!.target);
  });
});

/** `steps` meta-steps of a tiny CN-tailoring SVG: the loss and tf.memory().numTensors after each. */
function metaSteps(steps: number, svg?: Partial<SvgOptions>) {
  const a = tinySetup('svg', 'cn', { lr: 0.1, svg });
  let st = initMetaState(a.setup, a.theta, a.phi);
  const counts: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = metaStep(a.setup, st, a.batch, i);
    st = r.state;
    losses.push(r.report.loss);
    counts.push(tf.memory().numTensors);
  }
  disposeMetaState(st);
  tf.dispose([a.batch.obs]);
  return { counts, losses };
}

describe('meta-training', () => {
  it('keeps numTensors flat over repeated meta steps and is deterministic given the seed', () => {
    const x = metaSteps(3);
    expect(x.counts[2]).toBe(x.counts[1]);
    expect(x.losses.every(Number.isFinite)).toBe(true);
    expect(metaSteps(3).losses).toEqual(x.losses);
    const p = tinySvg();
    expect(vals(p.init(5))).toEqual(vals(p.init(5)));
    expect(vals(p.init(5))['enc/b0/w']).not.toEqual(vals(p.init(6))['enc/b0/w']);
  });

  it('the audit cases run without leaking', () => {
    const cases = auditCases();
    expect(cases.length).toBeGreaterThanOrEqual(4);
    const before = tf.memory().numTensors;
    for (const c of cases) c.run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("the reference code's SVG-LP as options (skips, contextZ, contextKl)", () => {
  const sameAll = (a: tf.Tensor[], b: tf.Tensor[]) => a.length === b.length && a.every((t, i) => maxAbsDiff(t, b[i]!) === 0);
  const run = (p: Predictor, theta: Params, context: tf.Tensor, inputs: StepInput[]) => {
    let s = p.initState(theta, context);
    return inputs.map((input) => (s = p.step(theta, s, input)));
  };

  it("skips: 'last-context' decodes with x_{C−1}'s, 'reference' with x_{C−2}'s, 'every-step' with each step's input's (the prediction when autoregressive)", () => {
    const C = 3;
    const b = tinyBatch(2, 2, C + 2, 8);
    const xs = tf.unstack(b.obs, 1);
    for (const skips of ['last-context', 'reference', 'every-step'] as const) {
      for (const teacherForcing of [true, false]) {
        const p = tinySvg({ contextLength: C, skips });
        const theta = p.init(1);
        const decode = p.net.decode.bind(p.net);
        const encode = p.net.encode.bind(p.net);
        const used: tf.Tensor[][] = [];
        let encodes = 0;
        p.net.decode = (pp, code, sk) => (used.push(sk), decode(pp, code, sk));
        p.net.encode = (...a) => (encodes++, encode(...a));
        const w = makeWindow(p, b, { contextLength: C, teacherForcing, noiseSeed: 0 });
        const states = run(p, theta, w.seq.context, w.seq.inputs);
        // The skips travel with the carried encoding: no frame is encoded twice (C context frames, then
        // each target when teacher forcing, else each prediction but the last).
        expect(encodes).toBe(C + (teacherForcing ? 2 : 1));
        const of = (x: tf.Tensor) => encode(theta, x).skips;
        const want = skips === 'last-context' ? [of(xs[C - 1]!), of(xs[C - 1]!)]
          : skips === 'reference' ? [of(xs[C - 2]!), of(xs[C - 2]!)]
          : [of(xs[C - 1]!), of(teacherForcing ? xs[C]! : states[0]!.obs)];
        const what = `${skips}, teacher forcing ${teacherForcing}`;
        expect(used.length, what).toBe(2);
        used.forEach((u, t) => expect(sameAll(u, want[t]!), `${what}, step ${t + 1}`).toBe(true));
        // The frames are random, so the check tells the sources apart.
        expect(sameAll(used[0]!, of(xs[C - 1]!)), what).toBe(skips !== 'reference');
      }
    }
    expect(() => tinySvg({ contextLength: 1, skips: 'reference' })).toThrow(/skips 'reference'.*contextLength/);
    // svg-action decodes with the same skips.
    const a = tinySvgAction({ skips: 'reference' });
    const ta = a.init(1);
    const ba = tinyBatch(2, 2, 3, 8, 3, 1);
    const wa = makeWindow(a, ba, { contextLength: 2 });
    const sa = a.initState(ta, wa.seq.context, { actions: wa.seq.actions }) as SvgState;
    expect(sameAll(sa.skip, a.net.encode(ta, tf.unstack(ba.obs, 1)[0]!).skips)).toBe(true);
  });

  it("contextZ 'sample': the context step's ε comes with the first step's noise (zero ε = 'mean'), shared by both rollouts; no mode 'latent'", () => {
    const mean = tinySvg();
    const sample = tinySvg({ contextZ: 'sample' });
    const zDim = mean.options.zDim;
    expect(mean.noiseShape(2)).toEqual([2, zDim]);
    expect(sample.noiseShape(2)).toEqual([2, 2 * zDim]); // contextLength 2: one context step
    const theta = mean.init(1);
    const b = tinyBatch(2, 2, 4, 8);
    for (const teacherForcing of [true, false]) {
      const w = makeWindow(mean, b, { contextLength: 2, teacherForcing, noiseSeed: 1 });
      // The step's own ε first; `ctx` in the context columns (ignored after the first step).
      const widen = (ctx: (t: number) => tf.Tensor) => w.seq.inputs.map((i) => ({ ...i, noise: tf.concat([i.noise!, ctx(i.t)], 1) }));
      const a = run(mean, theta, w.seq.context, w.seq.inputs);
      const zero = run(sample, theta, w.seq.context, widen(() => tf.zeros([2, zDim])));
      const other = run(sample, theta, w.seq.context, widen((t) => tf.fill([2, zDim], t === 1 ? 0 : 3)));
      const drawn = run(sample, theta, w.seq.context, widen(() => tf.ones([2, zDim])));
      expect(sameAll(zero.map((s) => s.obs), a.map((s) => s.obs))).toBe(true);
      if (teacherForcing) expect(sameAll(zero.map((s) => s.aux!), a.map((s) => s.aux!))).toBe(true);
      expect(sameAll(other.map((s) => s.obs), a.map((s) => s.obs))).toBe(true); // later steps read only their first zDim
      expect(maxAbsDiff(drawn[0]!.obs, a[0]!.obs)).toBeGreaterThan(0);
    }
    expect(sample.tailorModes).toEqual(['cn', 'all']);
    // Inner lr 0: the tailored rollout equals the untailored one only if both drew the same context z.
    const w = makeWindow(sample, b, { contextLength: 2, noiseSeed: 2 });
    const emb = tinyEmbedding();
    const out = predictSequence(
      { predictor: sample, theta, embedding: emb, phi: emb.init(2), inner: new GradientInnerOptimizer({ steps: 1, lr: 0 }), form: '2b', mode: 'cn' },
      w.seq, { differentiable: false, untailored: true },
    );
    expect(sameAll(out.tailored.preds, out.untailored!.preds)).toBe(true);
    expect(() => sample.step(theta, sample.initState(theta, w.seq.context), { t: 1 })).toThrow(/contextZ 'sample'.*noise/);
    expect(() => tinySvg({ contextLength: 1, contextZ: 'sample' })).toThrow(/contextZ 'sample'.*contextLength/);
  });

  it("contextKl adds exactly the context steps' β·KL to the first teacher-forced step's aux, and changes nothing else", () => {
    const C = 3;
    const off = tinySvg({ contextLength: C });
    const on = tinySvg({ contextLength: C, contextKl: true });
    const theta = off.init(1);
    const b = tinyBatch(2, 2, C + 2, 8);
    // The reference's KL of context steps 1…C−1: posterior on x_i, prior on x_{i−1}, both LSTMs from zero.
    const hs = tf.unstack(b.obs, 1).slice(0, C).map((x) => on.net.encode(theta, x).h);
    let ps = nn.lstmZeroState(1, on.options.rnnSize, 2);
    let qs = ps;
    let want = 0;
    for (let i = 1; i < C; i++) {
      const prior = nn.gaussianLstm(on.priorSpec, scopeParams(theta, 'prior'), hs[i - 1]!, ps);
      const post = nn.gaussianLstm(on.postSpec, scopeParams(theta, 'post'), hs[i]!, qs);
      ({ state: ps } = prior);
      ({ state: qs } = post);
      want += on.options.beta * tf.mean(nn.gaussianKl(post.mu, post.logvar, prior.mu, prior.logvar)).dataSync()[0]!;
    }
    expect(want).toBeGreaterThan(0);
    for (const teacherForcing of [true, false]) {
      const w = makeWindow(off, b, { contextLength: C, teacherForcing, noiseSeed: 0 });
      const a = run(off, theta, w.seq.context, w.seq.inputs);
      const k = run(on, theta, w.seq.context, w.seq.inputs);
      expect(sameAll(k.map((s) => s.obs), a.map((s) => s.obs))).toBe(true);
      if (!teacherForcing) {
        expect(k.every((s) => s.aux === undefined)).toBe(true); // no KL without a target, as every step's
        continue;
      }
      const added = k[0]!.aux!.dataSync()[0]! - a[0]!.aux!.dataSync()[0]!;
      expect(Math.abs(added - want)).toBeLessThan(1e-6 * k[0]!.aux!.dataSync()[0]!);
      expect(k[1]!.aux!.dataSync()[0]!).toBe(a[1]!.aux!.dataSync()[0]!);
    }
    expect(() => tinySvg({ contextLength: 1, contextKl: true })).toThrow(/contextKl.*contextLength/);
  });

  it("'every-step' skips, sampled context z: no ground truth after the context reaches a test-time prediction", () => {
    // core's noPeekingCheck: the frames after the context the truth, then NaN; the predictions must not move.
    const predictor = tinySvg({ skips: 'every-step', contextZ: 'sample', contextKl: true });
    const embedding = tinyEmbedding();
    const setup: MetaSetup = {
      predictor, embedding, mode: 'noether', form: '2b', tailorMode: 'cn', contextLength: 2,
      inner: new GradientInnerOptimizer({ steps: 1, lr: 0.5 }), lrTheta: 0, lrPhi: 0,
    };
    const before = tf.memory().numTensors;
    const params = { theta: predictor.init(1), phi: embedding.init(2) };
    const batch = tinyBatch(5, 2, 4, 8);
    const r = noPeekingCheck(setup, params, batch);
    tf.dispose([batch.obs, params] as tf.TensorContainer);
    expect(r.problem).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.tailoringChanged).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('meta-training with all three keeps numTensors flat and is deterministic given the seed', () => {
    const svg = { skips: 'every-step', contextZ: 'sample', contextKl: true } as const;
    const x = metaSteps(3, svg);
    expect(x.counts[2]).toBe(x.counts[1]);
    expect(x.losses.every(Number.isFinite)).toBe(true);
    expect(metaSteps(1, svg).losses).toEqual(x.losses.slice(0, 1));
  });
});

describe('register', () => {
  it("registers 'svg' and 'svg-action'; bad options name the field", () => {
    const c = createContainer(register);
    const svg = findFactory<Predictor>(c, TOKENS.PredictorFactory, 'svg', 'predictor');
    const act = findFactory<Predictor>(c, TOKENS.PredictorFactory, 'svg-action', 'predictor');
    const p = svg.create({ arch: 'dcgan', frameSize: 16, widths: [2, 2], gDim: 3, rnnSize: 4, zDim: 2 });
    expect(p).toBeInstanceOf(SvgPredictor);
    expect(p.tailor).toBe('cn');
    const q = act.create({ frameSize: 16, widths: [2, 2], actionDim: 2 });
    expect(q).toBeInstanceOf(SvgActionPredictor);
    expect(q.tailor).toBe('latent');
    expect(() => svg.create({ norm: 'layer' })).toThrow(/norm/);
    expect(() => svg.create({ beta: -1 })).toThrow(/beta/);
    expect(() => svg.create({ frameSize: 20 })).toThrow(/frameSize/);
    expect(() => svg.create({ frameSize: 16, widths: [2] })).toThrow(/widths/);
    expect(() => act.create({ zDim: 3 })).toThrow(/zDim/);
    // The reference code's options.
    const r = svg.create({ skips: 'reference', contextZ: 'sample', contextKl: true }) as SvgPredictor;
    expect([r.options.skips, r.options.contextZ, r.options.contextKl]).toEqual(['reference', 'sample', true]);
    const d = svg.create({}) as SvgPredictor;
    expect([d.options.skips, d.options.contextZ, d.options.contextKl]).toEqual(['last-context', 'mean', false]);
    expect((act.create({ skips: 'every-step' }) as SvgActionPredictor).options.skips).toBe('every-step');
    expect(() => svg.create({ skips: 'first' })).toThrow(/predictor\.skips/);
    expect(() => svg.create({ contextZ: 'prior' })).toThrow(/predictor\.contextZ/);
    expect(() => svg.create({ contextKl: 'yes' })).toThrow(/predictor\.contextKl/);
    expect(() => svg.create({ skips: 'reference', contextLength: 1 })).toThrow(/skips 'reference'/);
    expect(() => act.create({ contextZ: 'sample', contextKl: true })).toThrow(/predictor\.contextZ, predictor\.contextKl are options of 'svg'.*no z/);
  });
});

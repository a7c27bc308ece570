// SVG-LP (Denton & Fergus 2018) as a Noether predictor, and its deterministic action-conditioned
// variant for the controlled pendulum.
//
// Step t (x_{t−1} → x̃_t): h = enc(x_{t−1}); z from the posterior q(z | enc(x_t)) when the target is
// given (teacher forcing) and from the learned prior p(z | h) otherwise, reparameterised with the
// step's noise ε; x̃_t = dec(LSTM([h, z]), skips of the last context frame, or those option `skips`
// names). Under teacher forcing the next input is the ground truth x_t and the step contributes
// β·KL(q‖p) (summed over z dims, batch-averaged) as State.aux; otherwise the next input is x̃_t.
// The reference code's other context-step behaviours are options too: contextZ, contextKl.
import { tf, nn, Rng, deriveSeed, prefixParams, scopeParams, type Params, type Predictor, type State, type StepInput, type TailorMode } from '@noether/core';
import { ConvNet, blocksFor, defaultConvs, defaultWidths, type Arch } from './networks.js';

/** State of both SVG predictors: `latent` holds the frame-predictor LSTM's h/c (the tailorable
 * activations in mode 'latent'); `input` is the frame the next step encodes (ground truth when teacher forcing);
 * `skip` the decoder's skip features (fixed by initState; with skips 'every-step', those the last step used). */
export interface SvgState extends State {
  input: tf.Tensor;
  skip: tf.Tensor[];
  /** The encoding of `input` when it is already known (the last context frame's from initState,
   * the teacher-forced target's from the step that encoded it for the posterior), so the next step
   * does not encode the same frame again. Used only while `of` is `input` itself. */
  inputCode?: { of: tf.Tensor; h: tf.Tensor; skips: tf.Tensor[] };
  /** SVG-LP only: the prior and posterior LSTM states (kept out of `latent`: under teacher forcing
   * the prior does not affect the frames, otherwise the posterior does not, so neither can be tailored). */
  gauss?: Params;
  /** SVG-LP, contextZ 'sample': the context frames' codes, whose LSTM steps wait for the first
   * step's noise (initState gets none); `latent`/`gauss` are then the zero states. */
  pendingContext?: tf.Tensor[];
  /** SVG-LP, contextKl: Σ β·KL of the context steps, added to the first step's aux (teacher forcing). */
  contextKl?: tf.Scalar;
}

/** Where the decoder's skips come from: 'last-context' (x_{C−1}, as SVG's paper describes);
 * 'reference' (x_{C−2}: the code of SVG and of the Noether paper with `last_frame_skip` off);
 * 'every-step' (`last_frame_skip` on: each step's input frame — the ground truth under teacher
 * forcing, the model's own prediction otherwise). */
export type SkipSource = 'last-context' | 'reference' | 'every-step';

export interface SvgCommonOptions {
  arch: Arch;
  frameSize: number;
  channels: number;
  /** Encoder block widths (default: SVG's for the frame size). */
  widths?: number[];
  /** vgg only: convs per block (default 2, 2, 3, 3, 3). */
  convsPerBlock?: number[];
  /** Frame code size (SVG g_dim). */
  gDim: number;
  /** LSTM hidden size (SVG code: 256; the paper's appendix: 128). */
  rnnSize: number;
  /** Frame-predictor LSTM layers. */
  predictorLayers: number;
  norm: nn.NormKind;
  /** Ground-truth frames a rollout starts from. */
  contextLength: number;
  /** Std of the N(0, std) conv and dense weights (SVG: 0.02); LSTM cells use PyTorch's default. */
  initStd: number;
  /** Hidden activation of encoder/decoder (SVG: 'lrelu'; 'elu' for finite-difference checks). */
  activation: 'lrelu' | 'elu';
  /** Source of the decoder's skips (default 'last-context'). */
  skips: SkipSource;
}

export interface SvgOptions extends SvgCommonOptions {
  zDim: number;
  priorLayers: number;
  posteriorLayers: number;
  /** KL weight β. */
  beta: number;
  /** z of the context steps: the posterior mean (default) or, as the reference code, a sample
   * (its ε comes with the first step's noise, so both rollouts of a sequence share it). */
  contextZ: 'mean' | 'sample';
  /** Add the context steps' β·KL to the loss (with the first step's, under teacher forcing), as the
   * reference code's loss, which sums the KL over every step (default false). */
  contextKl: boolean;
}

export interface SvgActionOptions extends SvgCommonOptions {
  actionDim: number;
}

const common: SvgCommonOptions = {
  arch: 'vgg', frameSize: 128, channels: 3, gDim: 128, rnnSize: 256, predictorLayers: 2, norm: 'group', contextLength: 2, initStd: 0.02, activation: 'lrelu', skips: 'last-context',
};
export const defaultSvgOptions: SvgOptions = { ...common, zDim: 64, priorLayers: 1, posteriorLayers: 1, beta: 1e-4, contextZ: 'mean', contextKl: false };
export const defaultSvgActionOptions: SvgActionOptions = { ...common, arch: 'dcgan', frameSize: 64, contextLength: 4, actionDim: 1 };

function convNet(o: SvgCommonOptions): ConvNet {
  const n = blocksFor(o.frameSize);
  return new ConvNet({
    arch: o.arch, frameSize: o.frameSize, channels: o.channels, gDim: o.gDim, norm: o.norm, initStd: o.initStd, activation: o.activation,
    widths: o.widths ?? defaultWidths(o.arch, n), convsPerBlock: o.convsPerBlock ?? defaultConvs(n),
  });
}

/** LSTM cells are drawn as PyTorch's LSTMCell (U(±1/√H)); conv/dense layers as SVG's init_weights. */
const TORCH_CELL = { kind: 'fanIn' } as const;

function frames(context: tf.Tensor, C: number, name: string): tf.Tensor[] {
  if (context.rank !== 5 || context.shape[1]! < C) {
    throw new Error(`${name} needs a context [B, ≥${C}, H, W, C] (contextLength ${C}), got [${context.shape}]`);
  }
  return tf.unstack(context, 1).slice(context.shape[1]! - C);
}

/** Encoding of the state's input frame: the one carried from where it was computed, else encoded
 * now (the same encoder on the same frame and parameters within a rollout: the same values). */
function inputCode(net: ConvNet, p: Params, s: SvgState): { h: tf.Tensor; skips: tf.Tensor[] } {
  return s.inputCode && s.inputCode.of === s.input ? s.inputCode : net.encode(p, s.input);
}

function svgState(s: State, name: string): SvgState {
  const st = s as SvgState;
  if (!st.input || !st.skip || !st.latent) throw new Error(`${name}: the state was not made by initState (missing input/skip/latent)`);
  return st;
}

/** Shared parts: the conv encoder/decoder with CN layers and the frame-predictor LSTM. */
abstract class SvgBase implements Predictor {
  abstract readonly name: string;
  abstract readonly tailor: TailorMode;
  readonly tailorModes: readonly TailorMode[] = ['cn', 'latent', 'all'];
  readonly contextLength: number;
  readonly net: ConvNet;
  readonly fpSpec: nn.LstmSpec;

  constructor(readonly options: SvgCommonOptions, fpExtra: number) {
    if (!(options.contextLength >= 1)) throw new Error(`contextLength must be ≥ 1, got ${options.contextLength}`);
    if (options.skips === 'reference' && options.contextLength < 2) {
      throw new Error(`skips 'reference' takes the skips of context frame C−2 and needs contextLength ≥ 2, got ${options.contextLength}: use 'last-context' or a longer context`);
    }
    this.contextLength = options.contextLength;
    this.net = convNet(options);
    this.fpSpec = { inDim: options.gDim + fpExtra, hidden: options.rnnSize, outDim: options.gDim, layers: options.predictorLayers, outAct: 'tanh' };
  }

  protected initBase(seed: number): Params {
    const init = { kind: 'normal', std: this.options.initStd } as const;
    // Cells: PyTorch's LSTMCell default (SVG's init_weights skips LSTMCell), with the Noether code's
    // forget-gate bias 1 on the frame predictor only (core's initLstmCell says how).
    const cell = { init: TORCH_CELL, forgetBias: 1 };
    return {
      ...this.net.init(new Rng(deriveSeed(seed, 'convnet'))),
      ...prefixParams(nn.initLstm(new Rng(deriveSeed(seed, 'fp')), this.fpSpec, { init, cell }), 'fp'),
    };
  }

  abstract init(seed: number): Params;
  abstract initState(params: Params, context: tf.Tensor, input?: { actions?: tf.Tensor }): State;
  abstract step(params: Params, state: State, input: StepInput): State;

  conditioning(_params: Params, batchSize: number): Params {
    return this.net.conditioning(batchSize);
  }

  /** The skips the decoder uses, of the context frames' encodings (initState). */
  protected contextSkips(enc: { skips: tf.Tensor[] }[]): tf.Tensor[] {
    return enc[enc.length - (this.options.skips === 'reference' ? 2 : 1)]!.skips;
  }

  /** The code of the step's input frame and the skips the decoder uses this step. */
  protected stepInput(p: Params, s: SvgState): { h: tf.Tensor; skip: tf.Tensor[] } {
    const e = inputCode(this.net, p, s);
    return { h: e.h, skip: this.options.skips === 'every-step' ? e.skips : s.skip };
  }

  /** Frame predictor: [h, extra] → code for the decoder. */
  protected predict(p: Params, latent: Params, x: tf.Tensor): { code: tf.Tensor; latent: Params } {
    const s = nn.lstmStateFromParams('fp', latent, this.fpSpec.layers);
    const r = nn.lstm(this.fpSpec, scopeParams(p, 'fp'), x, s);
    return { code: r.y, latent: nn.lstmStateToParams('fp', r.state) };
  }
}

export class SvgPredictor extends SvgBase {
  readonly name = 'svg';
  readonly tailor: TailorMode = 'cn';
  override readonly tailorModes: readonly TailorMode[];
  override readonly options: SvgOptions;
  readonly priorSpec: nn.GaussianLstmSpec;
  readonly postSpec: nn.GaussianLstmSpec;

  constructor(options: Partial<SvgOptions> = {}) {
    const o = { ...defaultSvgOptions, ...options };
    super(o, o.zDim);
    for (const [on, what] of [[o.contextZ === 'sample', "contextZ 'sample'"], [o.contextKl, 'contextKl']] as const) {
      if (on && o.contextLength < 2) throw new Error(`${what} acts on the context steps, which contextLength ${o.contextLength} does not have: drop it or give contextLength ≥ 2`);
    }
    this.options = o;
    // A sampled context z depends on the first step's noise, so the LSTM state after the context
    // exists only inside the rollout: there is nothing for mode 'latent' to tailor before it.
    this.tailorModes = o.contextZ === 'sample' ? ['cn', 'all'] : ['cn', 'latent', 'all'];
    this.priorSpec = { inDim: o.gDim, hidden: o.rnnSize, zDim: o.zDim, layers: o.priorLayers };
    this.postSpec = { inDim: o.gDim, hidden: o.rnnSize, zDim: o.zDim, layers: o.posteriorLayers };
  }

  init(seed: number): Params {
    const init = { kind: 'normal', std: this.options.initStd } as const;
    return {
      ...this.initBase(seed),
      // Prior/posterior cells: PyTorch's default, no forget-bias change (the Noether code applies
      // init_forget_bias_to_one to the frame predictor only).
      ...prefixParams(nn.initGaussianLstm(new Rng(deriveSeed(seed, 'prior')), this.priorSpec, { init, cell: { init: TORCH_CELL } }), 'prior'),
      ...prefixParams(nn.initGaussianLstm(new Rng(deriveSeed(seed, 'post')), this.postSpec, { init, cell: { init: TORCH_CELL } }), 'post'),
    };
  }

  /** Mode 'all' adapts the encoder, decoder and frame predictor, not the prior/posterior LSTMs
   * (only one of them shapes the frames in a given regime; a tailored variable must reach the loss). */
  tailoredNames(params: Params): string[] {
    return Object.keys(params).filter((k) => !k.startsWith('prior/') && !k.startsWith('post/'));
  }

  /** [B, zDim]: each step's ε. With contextZ 'sample', [B, C·zDim]: columns zDim·i… are the ε of
   * context step i (1…C−1), which only the first step uses; every step's own ε is the first zDim. */
  noiseShape(batchSize: number): number[] {
    return [batchSize, this.options.zDim * (this.options.contextZ === 'sample' ? this.contextLength : 1)];
  }

  /** Runs the LSTMs over the context as SVG does (posterior z from the next context frame: its
   * mean by default, as initState receives no noise), with the skips `options.skips` names. Departures
   * from SVG's and the Noether reference's code, each an option (docs/results.md, Physics 101):
   * their skips are those of frame C−2 (updated only while i < n_past, on input x_{i−1}), and they
   * sample this z (contextZ 'sample': the context steps then run in the first step, which has noise)
   * and add its KL to the outer loss (contextKl). */
  initState(p: Params, context: tf.Tensor): State {
    const xs = frames(context, this.contextLength, this.name);
    const B = xs[0]!.shape[0]!;
    const H = this.options.rnnSize;
    const latent = nn.lstmStateToParams('fp', nn.lstmZeroState(this.fpSpec.layers, H, B));
    const gauss: Params = {
      ...nn.lstmStateToParams('prior', nn.lstmZeroState(this.priorSpec.layers, H, B)),
      ...nn.lstmStateToParams('post', nn.lstmZeroState(this.postSpec.layers, H, B)),
    };
    const enc = xs.map((x) => this.net.encode(p, x));
    const last = xs[xs.length - 1]!;
    const s = { obs: last, latent, gauss, input: last, inputCode: { of: last, ...enc[enc.length - 1]! }, skip: this.contextSkips(enc) } as SvgState;
    const hs = enc.map((e) => e.h);
    if (this.options.contextZ === 'sample') return { ...s, pendingContext: hs } as SvgState;
    return this.runContext(p, s, hs, undefined);
  }

  /** The LSTM steps over the context codes hs (z from the posterior on the next frame; ε of
   * context step i from noise columns zDim·i…, or its mean without noise). */
  private runContext(p: Params, s: SvgState, hs: tf.Tensor[], noise: tf.Tensor | undefined): SvgState {
    const zDim = this.options.zDim;
    let latent = s.latent!;
    let gauss = s.gauss!;
    const kls: tf.Tensor[] = [];
    for (let i = 1; i < hs.length; i++) {
      const eps = noise && tf.slice(noise, [0, zDim * i], [-1, zDim]);
      const r = this.advance(p, latent, gauss, hs[i - 1]!, hs[i]!, eps);
      latent = r.latent;
      gauss = r.gauss;
      if (this.options.contextKl) kls.push(tf.mean(r.kl!));
    }
    const out: SvgState = { ...s, latent, gauss, pendingContext: undefined };
    if (kls.length) out.contextKl = tf.mul(tf.addN(kls), this.options.beta) as tf.Scalar;
    return out;
  }

  /** LSTM updates of one step; hTarget given → posterior z and KL, else prior z. */
  private advance(p: Params, latent: Params, gauss: Params, h: tf.Tensor, hTarget: tf.Tensor | undefined, eps: tf.Tensor | undefined) {
    const prior = nn.gaussianLstm(this.priorSpec, scopeParams(p, 'prior'), h, nn.lstmStateFromParams('prior', gauss, this.priorSpec.layers), hTarget ? undefined : eps);
    let z = prior.z;
    let kl: tf.Tensor | undefined;
    let postLatent = prefixParams(scopeParams(gauss, 'post'), 'post');
    if (hTarget) {
      const post = nn.gaussianLstm(this.postSpec, scopeParams(p, 'post'), hTarget, nn.lstmStateFromParams('post', gauss, this.postSpec.layers), eps);
      z = post.z;
      kl = nn.gaussianKl(post.mu, post.logvar, prior.mu, prior.logvar);
      postLatent = nn.lstmStateToParams('post', post.state);
    }
    const fp = this.predict(p, latent, tf.concat([h, z], 1));
    return {
      code: fp.code, kl, latent: fp.latent,
      gauss: { ...nn.lstmStateToParams('prior', prior.state), ...postLatent },
    };
  }

  step(p: Params, state: State, input: StepInput): State {
    let s = svgState(state, this.name);
    if (!s.gauss) throw new Error(`${this.name}: the state has no prior/posterior LSTM states (not made by initState)`);
    let eps = input.noise;
    if (s.pendingContext) {
      if (!eps) throw new Error(`${this.name}: contextZ 'sample' draws the context steps' z from the first step's noise, and step ${input.t} has none (give StepInput.noise of noiseShape)`);
      s = this.runContext(p, s, s.pendingContext, eps);
    }
    if (eps && this.options.contextZ === 'sample') eps = tf.slice(eps, [0, 0], [-1, this.options.zDim]);
    const { h, skip } = this.stepInput(p, s);
    const eT = input.target ? this.net.encode(p, input.target) : undefined;
    const r = this.advance(p, s.latent!, s.gauss!, h, eT?.h, eps);
    const x = this.net.decode(p, r.code, skip);
    const out: SvgState = { obs: x, latent: r.latent, gauss: r.gauss, input: input.target ?? x, skip };
    // Teacher forcing: the next input is this target, whose code the posterior just used.
    if (input.target && eT) out.inputCode = { of: input.target, ...eT };
    if (r.kl) {
      const kl = tf.mul(tf.mean(r.kl), this.options.beta) as tf.Scalar;
      out.aux = s.contextKl ? tf.add(kl, s.contextKl) as tf.Scalar : kl;
    }
    return out;
  }
}

/** Deterministic, action-conditioned SVG (no prior sampling): the action is concatenated to the
 * frame code before the LSTM. Default tailoring: the LSTM's latent activations — the h/c after
 * encoding the context (with C = 1: the zero initial state). */
export class SvgActionPredictor extends SvgBase {
  readonly name = 'svg-action';
  readonly tailor: TailorMode = 'latent';
  override readonly options: SvgActionOptions;

  constructor(options: Partial<SvgActionOptions> = {}) {
    const o = { ...defaultSvgActionOptions, ...options };
    super(o, o.actionDim);
    this.options = o;
  }

  init(seed: number): Params {
    return this.initBase(seed);
  }

  private action(a: tf.Tensor | undefined, what: string): tf.Tensor {
    if (!a) throw new Error(`${this.name} is action-conditioned: ${what} (give the dataset's actions)`);
    if (a.shape[a.rank - 1] !== this.options.actionDim) throw new Error(`${this.name}: actions have ${a.shape[a.rank - 1]} dims, actionDim is ${this.options.actionDim}`);
    return a;
  }

  /** actions [B, T, A] of the whole window (index i drives the step that produces frame i). */
  initState(p: Params, context: tf.Tensor, input?: { actions?: tf.Tensor }): State {
    const xs = frames(context, this.contextLength, this.name);
    const B = xs[0]!.shape[0]!;
    const first = context.shape[1]! - this.contextLength;
    let latent = nn.lstmStateToParams('fp', nn.lstmZeroState(this.fpSpec.layers, this.options.rnnSize, B));
    const acts = xs.length > 1 ? tf.unstack(this.action(input?.actions, 'initState needs the window actions [B, T, A]'), 1) : [];
    const enc = xs.map((x) => this.net.encode(p, x));
    for (let i = 0; i + 1 < xs.length; i++) latent = this.predict(p, latent, tf.concat([enc[i]!.h, acts[first + i + 1]!], 1)).latent;
    const last = xs[xs.length - 1]!;
    return { obs: last, latent, input: last, inputCode: { of: last, ...enc[enc.length - 1]! }, skip: this.contextSkips(enc) } as SvgState;
  }

  step(p: Params, state: State, input: StepInput): State {
    const s = svgState(state, this.name);
    const { h, skip } = this.stepInput(p, s);
    const r = this.predict(p, s.latent!, tf.concat([h, this.action(input.action, `step ${input.t} has no action`)], 1));
    const x = this.net.decode(p, r.code, skip);
    return { obs: x, latent: r.latent, input: input.target ?? x, skip } as SvgState;
  }
}

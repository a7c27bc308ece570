// SVG-LP (Denton & Fergus 2018) as a Noether predictor, and its deterministic action-conditioned
// variant for the controlled pendulum.
//
// Step t (x_{t−1} → x̃_t): h = enc(x_{t−1}); z from the posterior q(z | enc(x_t)) when the target is
// given (teacher forcing) and from the learned prior p(z | h) otherwise, reparameterised with the
// step's noise ε; x̃_t = dec(LSTM([h, z]), skips of the last context frame). Under teacher forcing
// the next input is the ground truth x_t and the step contributes β·KL(q‖p) (summed over z dims,
// batch-averaged) as State.aux; otherwise the next input is x̃_t.
import { tf, nn, Rng, deriveSeed, prefixParams, scopeParams, type Params, type Predictor, type State, type StepInput, type TailorMode } from '@noether/core';
import { ConvNet, blocksFor, defaultConvs, defaultWidths, type Arch } from './networks.js';

/** State of both SVG predictors: `latent` holds the frame-predictor LSTM's h/c (the tailorable
 * activations in mode 'latent'); `input` is the frame the next step encodes (ground truth when teacher forcing);
 * `skip` the skip features of the last context frame. */
export interface SvgState extends State {
  input: tf.Tensor;
  skip: tf.Tensor[];
  /** The encoder code h of `input` when it is already known (the last context frame's from
   * initState, the teacher-forced target's from the step that encoded it for the posterior), so
   * the next step does not encode the same frame again. Used only while `of` is `input` itself. */
  inputCode?: { of: tf.Tensor; h: tf.Tensor };
  /** SVG-LP only: the prior and posterior LSTM states (kept out of `latent`: under teacher forcing
   * the prior does not affect the frames, otherwise the posterior does not, so neither can be tailored). */
  gauss?: Params;
}

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
}

export interface SvgOptions extends SvgCommonOptions {
  zDim: number;
  priorLayers: number;
  posteriorLayers: number;
  /** KL weight β. */
  beta: number;
}

export interface SvgActionOptions extends SvgCommonOptions {
  actionDim: number;
}

const common: SvgCommonOptions = {
  arch: 'vgg', frameSize: 128, channels: 3, gDim: 128, rnnSize: 256, predictorLayers: 2, norm: 'group', contextLength: 2, initStd: 0.02, activation: 'lrelu',
};
export const defaultSvgOptions: SvgOptions = { ...common, zDim: 64, priorLayers: 1, posteriorLayers: 1, beta: 1e-4 };
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

/** Code of the state's input frame: the one carried from where it was computed, else encoded now
 * (the same encoder on the same frame and parameters within a rollout: the same values). */
function inputCode(net: ConvNet, p: Params, s: SvgState): tf.Tensor {
  return s.inputCode && s.inputCode.of === s.input ? s.inputCode.h : net.encode(p, s.input).h;
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
  override readonly options: SvgOptions;
  readonly priorSpec: nn.GaussianLstmSpec;
  readonly postSpec: nn.GaussianLstmSpec;

  constructor(options: Partial<SvgOptions> = {}) {
    const o = { ...defaultSvgOptions, ...options };
    super(o, o.zDim);
    this.options = o;
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

  noiseShape(batchSize: number): number[] {
    return [batchSize, this.options.zDim];
  }

  /** Runs the LSTMs over the context as SVG does (posterior z from the next context frame, here
   * its mean: initState receives no noise), keeping the skips of the last context frame. Two
   * deliberate departures from SVG's and the Noether reference's code (docs/results.md, Physics 101):
   * their skips are those of frame C−2 (updated only while i < n_past, on input x_{i−1}), and they
   * sample this z and add its KL to the outer loss. */
  initState(p: Params, context: tf.Tensor): State {
    const xs = frames(context, this.contextLength, this.name);
    const B = xs[0]!.shape[0]!;
    const H = this.options.rnnSize;
    let latent = nn.lstmStateToParams('fp', nn.lstmZeroState(this.fpSpec.layers, H, B));
    let gauss: Params = {
      ...nn.lstmStateToParams('prior', nn.lstmZeroState(this.priorSpec.layers, H, B)),
      ...nn.lstmStateToParams('post', nn.lstmZeroState(this.postSpec.layers, H, B)),
    };
    const enc = xs.map((x) => this.net.encode(p, x));
    for (let i = 1; i < xs.length; i++) {
      const r = this.advance(p, latent, gauss, enc[i - 1]!.h, enc[i]!.h, undefined);
      latent = r.latent;
      gauss = r.gauss;
    }
    const last = xs[xs.length - 1]!;
    const e = enc[enc.length - 1]!;
    return { obs: last, latent, gauss, input: last, inputCode: { of: last, h: e.h }, skip: e.skips } as SvgState;
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
    const s = svgState(state, this.name);
    const h = inputCode(this.net, p, s);
    const hT = input.target ? this.net.encode(p, input.target).h : undefined;
    if (!s.gauss) throw new Error(`${this.name}: the state has no prior/posterior LSTM states (not made by initState)`);
    const r = this.advance(p, s.latent!, s.gauss, h, hT, input.noise);
    const x = this.net.decode(p, r.code, s.skip);
    const out: SvgState = { obs: x, latent: r.latent, gauss: r.gauss, input: input.target ?? x, skip: s.skip };
    // Teacher forcing: the next input is this target, whose code the posterior just used.
    if (input.target && hT) out.inputCode = { of: input.target, h: hT };
    if (r.kl) out.aux = tf.mul(tf.mean(r.kl), this.options.beta) as tf.Scalar;
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
    let skip: tf.Tensor[] = [];
    let h: tf.Tensor | undefined;
    for (let i = 0; i < xs.length; i++) {
      const e = this.net.encode(p, xs[i]!);
      if (i + 1 < xs.length) latent = this.predict(p, latent, tf.concat([e.h, acts[first + i + 1]!], 1)).latent;
      else ({ skips: skip, h } = e);
    }
    const last = xs[xs.length - 1]!;
    return { obs: last, latent, input: last, inputCode: { of: last, h: h! }, skip } as SvgState;
  }

  step(p: Params, state: State, input: StepInput): State {
    const s = svgState(state, this.name);
    const h = inputCode(this.net, p, s);
    const r = this.predict(p, s.latent!, tf.concat([h, this.action(input.action, `step ${input.t} has no action`)], 1));
    const x = this.net.decode(p, r.code, s.skip);
    return { obs: x, latent: r.latent, input: input.target ?? x, skip: s.skip } as SvgState;
  }
}

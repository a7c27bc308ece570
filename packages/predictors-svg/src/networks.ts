// SVG's frame encoder and decoder (Denton & Fergus 2018, models/dcgan_64.py and vgg_128.py) as
// pure functions over flat Params, generalised to frames of 4·2^n pixels with configurable widths.
// Every norm layer is followed by an optional conditional-normalisation layer (per-example γ, β,
// named `cn/<layer>/{gamma,beta}`), which CNGRAD tailoring adapts.
import { tf, nn, Rng, type Params } from '@noether/core';

export type Arch = 'dcgan' | 'vgg';

export interface ConvNetOptions {
  /** 'dcgan': stride-2 4×4 convs (SVG's 64×64 model); 'vgg': 3×3 conv blocks + max-pooling (128×128). */
  arch: Arch;
  /** Frame height = width; must be 4·2^n with n = number of blocks. */
  frameSize: number;
  channels: number;
  /** Channel width of each encoder block (shallow → deep). */
  widths: number[];
  /** vgg: convs per block (SVG: 2, 2, 3, 3, 3). */
  convsPerBlock: number[];
  /** Size of the frame code h (SVG's g_dim). */
  gDim: number;
  norm: nn.NormKind;
  /** Std of the N(0, std) conv weights (SVG: 0.02). */
  initStd: number;
  /** Hidden activation: SVG's LeakyReLU(0.2), or ELU — smooth enough (C¹) that the meta-loss through
   * an inner gradient step is differentiable, which finite-difference checks need (LeakyReLU's
   * derivative jumps, so the meta-loss jumps wherever a pre-activation crosses 0). */
  activation?: 'lrelu' | 'elu';
}

type Act = 'lrelu' | 'tanh' | 'sigmoid';
interface Layer {
  name: string;
  transpose: boolean;
  k: number;
  stride: number;
  pad: nn.Padding;
  inC: number;
  outC: number;
  norm: boolean;
  act: Act;
}

const conv = (name: string, k: number, stride: number, pad: nn.Padding, inC: number, outC: number, act: Act = 'lrelu', norm = true, transpose = false): Layer =>
  ({ name, transpose, k, stride, pad, inC, outC, norm, act });

/** The defaults of SVG: dcgan 64 (nf 64) and vgg 128; other sizes get as many blocks as fit. */
export function defaultWidths(arch: Arch, blocks: number): number[] {
  return arch === 'dcgan'
    ? Array.from({ length: blocks }, (_, i) => 64 * 2 ** Math.min(i, 3))
    : Array.from({ length: blocks }, (_, i) => [64, 128, 256, 512][Math.min(i, 3)]!);
}
export function defaultConvs(blocks: number): number[] {
  return Array.from({ length: blocks }, (_, i) => (i < 2 ? 2 : 3));
}
export function blocksFor(frameSize: number): number {
  const n = Math.log2(frameSize / 4);
  if (!Number.isInteger(n) || n < 1) throw new Error(`frameSize must be 4·2^n (8, 16, 32, 64, 128, ...), got ${frameSize}`);
  return n;
}

export class ConvNet {
  readonly o: ConvNetOptions;
  /** Encoder blocks (each a list of layers; block outputs are the skips) and the final 4×4 conv. */
  readonly encBlocks: Layer[][];
  readonly encOut: Layer;
  readonly decIn: Layer;
  /** Decoder blocks, deepest first (block i consumes skip i). */
  readonly decBlocks: Layer[][];

  constructor(o: ConvNetOptions) {
    this.o = o;
    const n = blocksFor(o.frameSize);
    if (o.widths.length !== n) throw new Error(`widths needs ${n} entries for frameSize ${o.frameSize} (one per block), got ${o.widths.length}`);
    if (o.arch === 'vgg' && o.convsPerBlock.length !== n) throw new Error(`convsPerBlock needs ${n} entries for frameSize ${o.frameSize}, got ${o.convsPerBlock.length}`);
    const w = o.widths;
    const nc = o.channels;
    this.encBlocks = [];
    this.decBlocks = [];
    if (o.arch === 'dcgan') {
      for (let i = 0; i < n; i++) this.encBlocks.push([conv(`enc/b${i}`, 4, 2, 'same', i ? w[i - 1]! : nc, w[i]!)]);
      for (let i = n - 1; i >= 0; i--) {
        this.decBlocks.push([i > 0
          ? conv(`dec/b${i}`, 4, 2, 'same', 2 * w[i]!, w[i - 1]!, 'lrelu', true, true)
          : conv('dec/out', 4, 2, 'same', 2 * w[0]!, nc, 'sigmoid', false, true)]);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const c = o.convsPerBlock[i]!;
        this.encBlocks.push(Array.from({ length: c }, (_, j) => conv(`enc/b${i}/c${j}`, 3, 1, 'same', j ? w[i]! : i ? w[i - 1]! : nc, w[i]!)));
      }
      for (let i = n - 1; i >= 0; i--) {
        const c = o.convsPerBlock[i]!;
        const layers: Layer[] = [];
        const nConv = i > 0 ? c : c - 1;
        for (let j = 0; j < nConv; j++) {
          const out = i > 0 && j === nConv - 1 ? w[i - 1]! : w[i]!;
          layers.push(conv(`dec/b${i}/c${j}`, 3, 1, 'same', j ? w[i]! : 2 * w[i]!, out));
        }
        if (i === 0) layers.push(conv('dec/out', 3, 1, 'same', nConv ? w[0]! : 2 * w[0]!, nc, 'sigmoid', false, true));
        this.decBlocks.push(layers);
      }
    }
    this.encOut = conv('enc/out', 4, 1, 'valid', w[n - 1]!, o.gDim, 'tanh');
    this.decIn = conv('dec/in', 4, 1, 'valid', o.gDim, w[n - 1]!, 'lrelu', true, true);
  }

  layers(): Layer[] {
    return [...this.encBlocks.flat(), this.encOut, this.decIn, ...this.decBlocks.flat()];
  }

  init(rng: Rng): Params {
    const init = { kind: 'normal', std: this.o.initStd } as const;
    let p: Params = {};
    for (const l of this.layers()) {
      p = { ...p, ...(l.transpose ? nn.initConv2dTranspose : nn.initConv2d)(rng, l.name, l.k, l.inC, l.outC, { init }) };
      // Scales N(1, 0.02) as SVG's init_weights draws BatchNorm's; exactly 1 for GroupNorm, which the
      // Noether code swaps in (batch_norm_to_group_norm) after that init, as a fresh nn.GroupNorm.
      if (l.norm) p = { ...p, ...nn.initNorm(rng, `${l.name}/norm`, l.outC, this.o.norm === 'group' ? 0 : 0.02) };
    }
    return p;
  }

  /** Fresh CN parameters (γ ones, β zeros, [B, C]) for every norm layer. */
  conditioning(batchSize: number): Params {
    let p: Params = {};
    for (const l of this.layers()) if (l.norm) p = { ...p, ...nn.initConditionalNorm(`cn/${l.name}`, batchSize, l.outC) };
    return p;
  }

  private apply(l: Layer, p: Params, x: tf.Tensor): tf.Tensor {
    const o = { stride: l.stride, pad: l.pad };
    let y: tf.Tensor = l.transpose ? nn.conv2dTranspose(p, l.name, x, o) : nn.conv2d(p, l.name, x, o);
    if (l.norm) y = nn.maybeConditionalNorm(p, `cn/${l.name}`, nn.norm(this.o.norm, p, `${l.name}/norm`, y));
    switch (l.act) {
      case 'lrelu': return this.o.activation === 'elu' ? tf.elu(y) : tf.leakyRelu(y, 0.2);
      case 'tanh': return tf.tanh(y);
      case 'sigmoid': return tf.sigmoid(y);
    }
  }

  /** x [B, S, S, C] → code h [B, gDim] and the skip features of every block. */
  encode(p: Params, x: tf.Tensor): { h: tf.Tensor; skips: tf.Tensor[] } {
    const s = this.o.frameSize;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== this.o.channels) {
      throw new Error(`the SVG encoder expects frames [B, ${s}, ${s}, ${this.o.channels}], got [${x.shape}]: set frameSize/channels to match the data`);
    }
    const skips: tf.Tensor[] = [];
    let h = x;
    this.encBlocks.forEach((block, i) => {
      if (this.o.arch === 'vgg' && i > 0) h = nn.maxPool2x2(h);
      for (const l of block) h = this.apply(l, p, h);
      skips.push(h);
    });
    if (this.o.arch === 'vgg') h = nn.maxPool2x2(h);
    h = this.apply(this.encOut, p, h);
    return { h: tf.reshape(h, [x.shape[0]!, this.o.gDim]), skips };
  }

  /** Code [B, gDim] and skips → frame [B, S, S, C] in [0, 1]. */
  decode(p: Params, code: tf.Tensor, skips: tf.Tensor[]): tf.Tensor {
    let d = this.apply(this.decIn, p, tf.reshape(code, [code.shape[0]!, 1, 1, this.o.gDim]));
    const n = this.encBlocks.length;
    this.decBlocks.forEach((block, k) => {
      const i = n - 1 - k;
      if (this.o.arch === 'vgg') d = nn.upsampleNearest2x(d);
      d = tf.concat([d, skips[i]!], 3);
      for (const l of block) d = this.apply(l, p, d);
    });
    return d;
  }
}

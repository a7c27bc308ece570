// The paper's conservation embedding g_φ(x_{t−1}, x_t): two consecutive frames stacked on channels,
// Conv5×5(32)-ReLU-MaxPool2, Conv5×5(64)-ReLU-MaxPool2, flatten, Linear to `dim` (reference code:
// padding 2, i.e. 'same'; PyTorch default init).
import { tf, nn, Rng, type Embedding, type FeatureLayer, type Params } from '@noether/core';

export interface CnnEmbeddingOptions {
  /** Output dimension k (paper: 64). */
  dim: number;
  /** Frame height and width. */
  height: number;
  width: number;
  /** Channels of one frame (RGB: 3); the network sees 2× this. */
  channels: number;
  /** Conv widths (paper: [32, 64]). */
  filters: [number, number];
  /** Conv kernel size (paper: 5). */
  kernel: number;
}

export const defaultCnnEmbeddingOptions: CnnEmbeddingOptions = {
  dim: 64, height: 128, width: 128, channels: 3, filters: [32, 64], kernel: 5,
};

export class CnnEmbedding implements Embedding {
  readonly name = 'cnn';
  readonly arity = 2 as const;
  readonly dim: number;
  readonly options: CnnEmbeddingOptions;
  /** Flattened feature size after the two conv/pool stages. */
  readonly flat: number;

  constructor(options: Partial<CnnEmbeddingOptions> = {}) {
    this.options = { ...defaultCnnEmbeddingOptions, ...options };
    const o = this.options;
    this.dim = o.dim;
    const h = Math.floor(Math.floor(o.height / 2) / 2);
    const w = Math.floor(Math.floor(o.width / 2) / 2);
    if (h < 1 || w < 1) throw new Error(`cnn embedding: frames of ${o.height}×${o.width} are too small (two 2×2 poolings need at least 4×4)`);
    this.flat = h * w * o.filters[1];
  }

  init(seed: number): Params {
    const o = this.options;
    const rng = new Rng(seed);
    const init = { kind: 'fanIn' } as const;
    return {
      ...nn.initConv2d(rng, 'conv1', o.kernel, 2 * o.channels, o.filters[0], { init }),
      ...nn.initConv2d(rng, 'conv2', o.kernel, o.filters[0], o.filters[1], { init }),
      ...nn.initDense(rng, 'fc', this.flat, o.dim, { init }),
    };
  }

  /** xs = [x_{t−1}, x_t], each [B, H, W, C] → [B, dim]. */
  apply(p: Params, xs: tf.Tensor[]): tf.Tensor {
    return this.featureLayer.head(p, this.featureLayer.features(p, xs));
  }

  /** Split after the second conv's ReLU, the layer the paper's Grad-CAM (Fig. 5) maps. */
  readonly featureLayer: FeatureLayer = {
    name: 'conv2',
    features: (p, xs) => {
      if (xs.length !== 2) throw new Error(`cnn embedding takes 2 frames (x_{t-1}, x_t), got ${xs.length}`);
      const o = this.options;
      const [a, b] = xs as [tf.Tensor, tf.Tensor];
      const want = [o.height, o.width, o.channels];
      if (a.rank !== 4 || a.shape.slice(1).join() !== want.join() || b.shape.join() !== a.shape.join()) {
        throw new Error(`cnn embedding expects two frames [B, ${want.join(', ')}], got [${a.shape}] and [${b.shape}]: set height/width/channels to match the data`);
      }
      const h1 = nn.maxPool2x2(tf.relu(nn.conv2d(p, 'conv1', tf.concat([a, b], 3), { pad: 'same' })));
      return tf.relu(nn.conv2d(p, 'conv2', h1, { pad: 'same' }));
    },
    head: (p, A) => nn.dense(p, 'fc', tf.reshape(nn.maxPool2x2(A), [A.shape[0]!, this.flat])),
  };
}

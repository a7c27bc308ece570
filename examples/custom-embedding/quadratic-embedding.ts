// A third-party Noether embedding, written outside the Noether repo: it depends on
// @noether/core's public API only. g_φ(x) = xᵀ A x + bᵀx with a learned symmetric A
// — the family that holds the energy of any linear system.
import 'reflect-metadata';
import { injectable } from 'tsyringe';
import { tf, Rng, randomNormal, TOKENS, type DependencyContainer, type Embedding, type EmbeddingFactory, type Params } from '@noether/core';

@injectable()
export class QuadraticEmbedding implements Embedding {
  readonly name = 'quadratic';
  readonly arity = 1 as const;
  readonly dim = 1;
  /** State dimension; set by the factory from its options. */
  inputDim = 2;

  init(seed: number): Params {
    const rng = new Rng(seed);
    return { A: randomNormal(rng, [this.inputDim, this.inputDim], 0.3), b: tf.zeros([this.inputDim]) };
  }

  apply(p: Params, xs: tf.Tensor[]): tf.Tensor {
    const x = xs[0] as tf.Tensor2D;
    const A = tf.add(p.A!, tf.transpose(p.A!)) as tf.Tensor2D; // symmetric
    const quad = tf.sum(tf.mul(tf.matMul(x, A), x), -1, true);
    return tf.add(quad, tf.sum(tf.mul(x, p.b!), -1, true));
  }
}

/** Register as a named factory, so configs can say `embedding: { type: quadratic }`. */
export function register(container: DependencyContainer): void {
  const factory: EmbeddingFactory = {
    type: 'quadratic',
    description: 'learned quadratic form xᵀAx + bᵀx',
    create: (o) => Object.assign(new QuadraticEmbedding(), typeof o.inputDim === 'number' ? { inputDim: o.inputDim } : {}),
  };
  container.register(TOKENS.EmbeddingFactory, { useValue: factory });
}

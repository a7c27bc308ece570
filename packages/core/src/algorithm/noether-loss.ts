// The Noether loss (paper eq. 2): how much the embedding g_φ changes along the
// model's own rollout.
//   form '2a': Σ_t |g(x_0) − g(x̃_t)|²      (against the ground-truth start)
//   form '2b': Σ_t |g(x̃_{t−1}) − g(x̃_t)|²  (between consecutive predictions)
// Squared distance summed over the k embedding dims, summed over time, averaged
// over the batch. (The Physics 101 reference code averages over the 64 dims
// instead, which only rescales the inner learning rate by 1/64.)
// x_0 is ground truth: the last context observation (arity 2: the last two), never a prediction,
// and nothing after the context enters. With more context than the embedding's arity, 2(a)'s anchor
// is the *last* context window; the reference, whose 2 context frames equal its arity, has no such
// choice (it embeds every pair from frame 0, so more context would anchor it at the first).
import { tf } from '../tf.js';
import type { Embedding } from '../contracts.js';
import type { Params } from '../params.js';

export type NoetherForm = '2a' | '2b';

/** Embeddings e_0..e_T (new tensors, the caller's) of the sequence [context tail, x̃_1..x̃_T]: for arity 1, e_i = g(x_i)
 * with x_0 the last context observation; for arity 2, e_i = g(x_{i−1}, x_i), e_0 taken on the
 * last two context observations. */
export function embedSequence(embedding: Embedding, phi: Params, context: tf.Tensor[], preds: tf.Tensor[]): tf.Tensor[] {
  const a = embedding.arity;
  if (context.length < a) {
    throw new Error(`embedding '${embedding.name}' has arity ${a} but only ${context.length} context observation(s) were given`);
  }
  const seq = [...context.slice(context.length - a), ...preds];
  // Tidy: the embedding's activations, and on a wrong shape the embeddings made so far, are freed.
  return tf.tidy(() => {
    const out: tf.Tensor[] = [];
    for (let i = 0; i + a <= seq.length; i++) out.push(checkedEmbedding(embedding, embedding.apply(phi, seq.slice(i, i + a)), seq[i]!.shape[0]!));
    return out;
  });
}

/** The contract's [B, k]: any other shape would broadcast or sum into a Noether loss that is silently
 * wrong (a [B] output makes it B times too large). */
function checkedEmbedding(embedding: Embedding, e: tf.Tensor, batch: number): tf.Tensor {
  if (e.rank !== 2 || e.shape[0] !== batch || e.shape[1] !== embedding.dim) {
    throw new Error(`embedding '${embedding.name}' returned shape [${e.shape}] for a batch of ${batch}; apply() must return [B, dim] = [${batch}, ${embedding.dim}] (fix apply, or its declared dim)`);
  }
  return e;
}

/** Per-example Noether loss [B]. */
export function noetherLossPerExample(
  embedding: Embedding, phi: Params, context: tf.Tensor[], preds: tf.Tensor[], form: NoetherForm,
): tf.Tensor {
  return tf.tidy(() => {
    const e = embedSequence(embedding, phi, context, preds);
    const terms: tf.Tensor[] = [];
    for (let t = 1; t < e.length; t++) {
      const ref = form === '2a' ? e[0]! : e[t - 1]!;
      terms.push(tf.sum(tf.square(tf.sub(ref, e[t]!)), -1));
    }
    return terms.length === 1 ? terms[0]! : tf.addN(terms);
  });
}

/** Batch-mean Noether loss (the inner loss). */
export function noetherLoss(
  embedding: Embedding, phi: Params, context: tf.Tensor[], preds: tf.Tensor[], form: NoetherForm,
): tf.Scalar {
  return tf.tidy(() => tf.mean(noetherLossPerExample(embedding, phi, context, preds, form)) as tf.Scalar);
}

// The no-peeking check: at test time a prediction may use the context (and the actions) only.
// It predicts a batch as evaluate does, then again with every frame after the context replaced
// by NaN: a prediction that reads one of those frames turns NaN or moves. A check for the tests
// of a predictor (or of anything between the data and the predictor), as metaStepAuditCase is
// for its second-order gradients.
import { tf } from '../tf.js';
import type { Batch } from '../contracts.js';
import type { Params } from '../params.js';
import type { MetaSetup } from './meta.js';
import { evalNoiseSeed, predictTestBatch } from './train.js';

export interface NoPeekingReport {
  /** The predictions on the batch were finite, and hiding the frames after the context moved none. */
  ok: boolean;
  /** The largest change of any predicted value when those frames were hidden (Infinity where one turned NaN). */
  maxChange: { untailored: number; tailored: number };
  /** Whether tailoring changed any predicted value: where it did not, the tailored half proves nothing. */
  tailoringChanged: boolean;
  /** What failed and where to look (undefined when ok). */
  problem?: string;
}

/**
 * Checks that no frame after the context reaches `setup`'s test-time prediction of `batch`, untailored
 * and tailored (the prediction evaluate makes of it as its first batch with this `seed`). Pass the
 * test-time setup (an Experiment's `testSetup`) and a batch of a few sequences; the caller keeps the
 * batch and the parameters. A model that draws randomness other than the noise core gives it fails
 * too: the same seed must give the same numbers.
 */
export function noPeekingCheck(setup: MetaSetup, params: { theta: Params; phi: Params }, batch: Batch, o: { seed?: number } = {}): NoPeekingReport {
  const C = setup.contextLength ?? setup.predictor.contextLength;
  const shape = batch.obs.shape;
  const T = shape[1] ?? 0;
  const perFrame = shape.slice(2).reduce((a, b) => a * b, 1);
  const seed = evalNoiseSeed(o.seed ?? 0, 0);
  const flat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1])));
  const [seenU, seenT, blindU, blindT] = tf.tidy(() => {
    const seen = predictTestBatch(setup, params, batch, seed); // first: its window refuses a C that does not fit
    const blind = tf.tensor(Float32Array.from(batch.obs.dataSync(), (v, i) => (Math.floor(i / perFrame) % T < C ? v : NaN)), shape);
    const unseen = predictTestBatch(setup, params, { ...batch, obs: blind }, seed);
    return [seen.untailored, seen.tailored, unseen.untailored, unseen.tailored].map((ts) => flat(ts).dataSync() as Float32Array);
  });
  const maxChange = { untailored: largestChange(seenU!, blindU!), tailored: largestChange(seenT!, blindT!) };
  const finite = seenU!.every(Number.isFinite) && seenT!.every(Number.isFinite);
  const moved = (['untailored', 'tailored'] as const).filter((k) => maxChange[k] !== 0);
  const largest = Math.max(...moved.map((k) => maxChange[k]));
  const problem = !finite
    ? `the ${setup.predictor.name} prediction of the batch as given is not finite (NaN or ±Inf), so hiding frames proves nothing: give a batch and parameters it predicts finite values for`
    : moved.length
      ? `with the frames after the context (${C}) replaced by NaN, the ${moved.join(' and ')} ${setup.predictor.name} prediction changed (${largest === Infinity ? 'values turned NaN' : `by up to ${largest}`}): ` +
        `ground truth after the context reaches it at test time, or it is not a function of the context, the actions and the noise core gives it (a model drawing its own randomness)`
      : undefined;
  return { ok: !problem, maxChange, tailoringChanged: largestChange(seenU!, seenT!) !== 0, problem };
}

/** max |a − b|, Infinity where exactly one of the two is NaN (a value the hidden frames turned NaN). */
function largestChange(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Number.isNaN(a[i]!) !== Number.isNaN(b[i]!) ? Infinity : Math.abs(a[i]! - b[i]!);
    if (d > m) m = d;
  }
  return m;
}

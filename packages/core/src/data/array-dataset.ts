// An in-memory Dataset over typed arrays: what state-space systems and small
// video sets use. Streaming datasets implement the same contract.
import { tf } from '../tf.js';
import type { Batch, BatchOptions, Dataset, Split } from '../contracts.js';
import { Rng } from '../rng.js';

export interface SequenceArray {
  /** n × T × prod(obsShape) values, row-major. */
  obs: Float32Array;
  /** n × T × actionDim values, when the system is controlled. */
  actions?: Float32Array;
  n: number;
}

export interface ArrayDatasetSpec {
  name: string;
  obsShape: number[];
  seqLength: number;
  actionDim?: number;
  train: SequenceArray;
  test: SequenceArray;
}

export class ArrayDataset implements Dataset {
  readonly name: string;
  readonly obsShape: readonly number[];
  readonly seqLength: number;
  readonly actionDim?: number;
  private readonly splits: Record<Split, SequenceArray>;

  constructor(spec: ArrayDatasetSpec) {
    this.name = spec.name;
    this.obsShape = spec.obsShape;
    this.seqLength = spec.seqLength;
    this.actionDim = spec.actionDim;
    this.splits = { train: spec.train, test: spec.test };
    const per = spec.seqLength * spec.obsShape.reduce((a, b) => a * b, 1);
    for (const s of ['train', 'test'] as const) {
      const a = this.splits[s];
      if (a.obs.length !== a.n * per) {
        throw new Error(`dataset '${spec.name}' ${s}.obs has ${a.obs.length} values, expected ${a.n} × ${per}`);
      }
      if (spec.actionDim && (!a.actions || a.actions.length !== a.n * spec.seqLength * spec.actionDim)) {
        throw new Error(`dataset '${spec.name}' ${s}.actions must hold ${a.n} × ${spec.seqLength} × ${spec.actionDim} values`);
      }
    }
  }

  size(split: Split): number {
    return this.splits[split].n;
  }

  /** Sequence indices of each batch, in order (seeded shuffle when asked). */
  batchIndices(split: Split, o: BatchOptions): number[][] {
    return batchGroups(this.size(split), o);
  }

  async *batches(split: Split, o: BatchOptions): AsyncIterable<Batch> {
    for (const idx of this.batchIndices(split, o)) yield this.gather(split, idx);
  }

  /** The sequences at these indices as one batch. */
  gather(split: Split, idx: number[]): Batch {
    const a = this.splits[split];
    const per = this.seqLength * this.obsShape.reduce((x, y) => x * y, 1);
    const obs = new Float32Array(idx.length * per);
    idx.forEach((j, b) => obs.set(a.obs.subarray(j * per, (j + 1) * per), b * per));
    const batch: Batch = { obs: tf.tensor(obs, [idx.length, this.seqLength, ...this.obsShape]) };
    if (this.actionDim && a.actions) {
      const pa = this.seqLength * this.actionDim;
      const act = new Float32Array(idx.length * pa);
      idx.forEach((j, b) => act.set(a.actions!.subarray(j * pa, (j + 1) * pa), b * pa));
      batch.actions = tf.tensor(act, [idx.length, this.seqLength, this.actionDim]);
    }
    return batch;
  }
}

/**
 * The batches of a split of n sequences as lists of sequence indices, in order (a seeded shuffle
 * when o.shuffle), the last one short unless o.dropLast (which never drops the only batch): how
 * every Dataset of the project cuts its batches, so the same seed gives the same batches.
 */
export function batchGroups(n: number, o: BatchOptions): number[][] {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  const order = o.shuffle ? new Rng(o.seed ?? 0).permutation(n) : Array.from({ length: n }, (_, i) => i);
  const out: number[][] = [];
  for (let i = 0; i < n; i += o.batchSize) {
    const idx = order.slice(i, i + o.batchSize);
    if (o.dropLast && idx.length < o.batchSize && out.length > 0) break;
    out.push(idx);
  }
  return out;
}

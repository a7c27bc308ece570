// Per-timestep aggregation: mean and standard error over examples, for each
// timestep, accumulated batch by batch (Welford, in float64).

export interface TimestepStats {
  /** Mean over all examples seen, per timestep. */
  mean: number[];
  /** Standard error of that mean: sample standard deviation (n − 1) / √n; NaN while n < 2. */
  stderr: number[];
  /** Number of examples seen. */
  n: number;
}

/** Values [B, T] as nested arrays, or anything with arraySync() returning them (a tf.Tensor2D). */
export type BatchValues = number[][] | { arraySync(): unknown; shape: number[] };

function toRows(values: BatchValues, where: string): number[][] {
  const rows = Array.isArray(values) ? values : (values.arraySync() as number[][]);
  if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r) || r.some((v) => typeof v !== 'number'))) {
    const shape = Array.isArray(values) ? 'nested arrays' : `[${values.shape}]`;
    throw new Error(`${where}: expected per-example-per-timestep values [B, T], got ${shape}`);
  }
  return rows;
}

/** Accumulates one metric's per-example-per-timestep values [B, T] over batches. Non-finite values
 * (PSNR of identical frames is +Infinity) are counted apart, so they give the mean they should
 * (+Infinity; NaN where NaN or both infinities occur) without poisoning Welford's running sums. */
export class TimestepAccumulator {
  private count = 0;
  /** Per timestep: Welford's mean and sum of squares over the finite values, and their count. */
  private means: number[] = [];
  private m2: number[] = [];
  private finite: number[] = [];
  /** Per timestep: how many +Infinity, −Infinity and NaN values were seen. */
  private posInf: number[] = [];
  private negInf: number[] = [];
  private nan: number[] = [];

  constructor(readonly name = 'metric') {}

  /** Adds a batch [B, T]; every batch must have the same T. Tensors are read, not disposed. */
  add(values: BatchValues): this {
    const rows = toRows(values, `TimestepAccumulator(${this.name}).add`);
    for (const row of rows) {
      if (this.count === 0 && this.means.length === 0) {
        const zeros = () => new Array<number>(row.length).fill(0);
        [this.means, this.m2, this.finite, this.posInf, this.negInf, this.nan] = [zeros(), zeros(), zeros(), zeros(), zeros(), zeros()];
      }
      if (row.length !== this.means.length) {
        throw new Error(`TimestepAccumulator(${this.name}).add: ${row.length} timesteps, earlier batches had ${this.means.length}`);
      }
      this.count++;
      for (let t = 0; t < row.length; t++) {
        const v = row[t]!;
        if (!Number.isFinite(v)) {
          const tally = Number.isNaN(v) ? this.nan : v > 0 ? this.posInf : this.negInf;
          tally[t]!++;
          continue;
        }
        const k = ++this.finite[t]!;
        const d = v - this.means[t]!;
        this.means[t]! += d / k;
        this.m2[t]! += d * (v - this.means[t]!);
      }
    }
    return this;
  }

  get n(): number {
    return this.count;
  }

  /** Means and standard errors; a timestep with any non-finite value has a non-finite mean and a NaN
   * standard error. */
  result(): TimestepStats {
    const n = this.count;
    const mean = this.means.map((m, t) => {
      if (this.nan[t]! > 0 || (this.posInf[t]! > 0 && this.negInf[t]! > 0)) return NaN;
      return this.posInf[t]! > 0 ? Infinity : this.negInf[t]! > 0 ? -Infinity : m;
    });
    return {
      mean,
      stderr: this.m2.map((s, t) => (n < 2 || this.finite[t]! < n ? NaN : Math.sqrt(s / (n - 1)) / Math.sqrt(n))),
      n,
    };
  }
}

/** One TimestepAccumulator per metric name. */
export class MetricAccumulator {
  private readonly accs = new Map<string, TimestepAccumulator>();

  /** Adds a batch [B, T] of values for one metric. */
  add(metric: string, values: BatchValues): this {
    let a = this.accs.get(metric);
    if (!a) this.accs.set(metric, (a = new TimestepAccumulator(metric)));
    a.add(values);
    return this;
  }

  /** Adds several metrics' batches at once: { mse: [B, T], ssim: [B, T], ... }. */
  addAll(batch: Record<string, BatchValues>): this {
    for (const [k, v] of Object.entries(batch)) this.add(k, v);
    return this;
  }

  names(): string[] {
    return [...this.accs.keys()];
  }

  results(): Record<string, TimestepStats> {
    return Object.fromEntries([...this.accs].map(([k, a]) => [k, a.result()]));
  }
}

// Per-timestep mean and standard error over examples, accumulated batch by batch.
export class SeriesStats {
  private sum: number[] = [];
  private sumSq: number[] = [];
  private count: number[] = [];

  /** values[b][t]: one row per example. */
  add(values: ArrayLike<number>[]): void {
    for (const row of values) {
      for (let t = 0; t < row.length; t++) {
        this.sum[t] = (this.sum[t] ?? 0) + row[t]!;
        this.sumSq[t] = (this.sumSq[t] ?? 0) + row[t]! * row[t]!;
        this.count[t] = (this.count[t] ?? 0) + 1;
      }
    }
  }

  /** Adds a [B, T] array given as T columns of B values. */
  addColumns(columns: ArrayLike<number>[]): void {
    const B = columns[0]?.length ?? 0;
    const rows: number[][] = Array.from({ length: B }, (_, b) => columns.map((c) => c[b]!));
    this.add(rows);
  }

  result(): { mean: number[]; stderr: number[]; n: number[]; overall: number } {
    const mean = this.sum.map((s, t) => s / this.count[t]!);
    const stderr = this.sum.map((_, t) => {
      const n = this.count[t]!;
      if (n < 2) return 0;
      const varSample = (this.sumSq[t]! - n * mean[t]! ** 2) / (n - 1);
      return Math.sqrt(Math.max(varSample, 0) / n);
    });
    const overall = mean.length ? mean.reduce((a, b) => a + b, 0) / mean.length : NaN;
    return { mean, stderr, n: [...this.count], overall };
  }
}

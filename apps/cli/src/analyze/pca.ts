// PCA of a small sample matrix (n × k, k ≲ 100) by the cyclic Jacobi eigenvalue method, in
// float64 — enough for embedding dimensions, no linear-algebra dependency.

export interface Pca {
  /** Column means (length k). */
  mean: number[];
  /** Eigenvalues of the sample covariance, largest first. */
  variances: number[];
  /** Fraction of the total variance per component. */
  explained: number[];
  /** Unit eigenvectors, components[i] pairs with variances[i] (each length k); each sign is arbitrary, left to the caller (gradcam.ts orients them). */
  components: number[][];
}

/** Eigen-decomposition of a symmetric matrix (row-major k × k); returns values and column vectors. */
export function symmetricEigen(a: number[][], maxSweeps = 100): { values: number[]; vectors: number[][] } {
  const k = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const mrp = m[r]![p]!;
          const mrq = m[r]![q]!;
          m[r]![p] = c * mrp - s * mrq;
          m[r]![q] = s * mrp + c * mrq;
        }
        for (let r = 0; r < k; r++) {
          const mpr = m[p]![r]!;
          const mqr = m[q]![r]!;
          m[p]![r] = c * mpr - s * mqr;
          m[q]![r] = s * mpr + c * mqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r]![p]!;
          const vrq = v[r]![q]!;
          v[r]![p] = c * vrp - s * vrq;
          v[r]![q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = m.map((r, i) => r[i]!);
  const vectors = values.map((_, j) => v.map((r) => r[j]!));
  return { values, vectors };
}

/** PCA of rows x[i] (all the same length k); needs at least two rows. */
export function pca(x: ArrayLike<number>[]): Pca {
  const n = x.length;
  if (n < 2) throw new Error(`PCA needs at least 2 samples, got ${n}`);
  const k = x[0]!.length;
  const mean = new Array<number>(k).fill(0);
  for (const r of x) for (let j = 0; j < k; j++) mean[j]! += r[j]! / n;
  const cov = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const r of x) {
    for (let i = 0; i < k; i++) {
      const di = r[i]! - mean[i]!;
      for (let j = i; j < k; j++) cov[i]![j]! += (di * (r[j]! - mean[j]!)) / (n - 1);
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) cov[i]![j] = cov[j]![i]!;
  const { values, vectors } = symmetricEigen(cov);
  const order = values.map((_, i) => i).sort((a, b) => values[b]! - values[a]!);
  const variances = order.map((i) => Math.max(0, values[i]!));
  const total = variances.reduce((s, v) => s + v, 0);
  return {
    mean,
    variances,
    explained: variances.map((v) => (total > 0 ? v / total : 0)),
    components: order.map((i) => vectors[i]!),
  };
}

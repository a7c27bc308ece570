// Ranking survivors by usefulness. The search only proposes candidates; how useful one is as a
// Noether embedding is measured by the caller (e.g. apps/cli meta-tailoring a pre-trained MLP
// with core's algorithm, paper: lr sweep, top 20, 100 epochs). This module owns only the loop
// and the deterministic ordering, so it stays free of training code.
import type { CandidateResult } from './search.js';

export interface TailoringScore<C> {
  candidate: C;
  /** Lower is better (e.g. long-term training MSE); NaN/∞ (diverged) rank last. */
  score: number;
}

export interface RankByTailoringOptions {
  /** Evaluate only the first `topK` candidates in the given order (default all). */
  topK?: number;
  onProgress?: (done: number, total: number, last: TailoringScore<unknown>) => void;
}

/** Scores candidates one after another with `evaluateCandidate`, best (lowest) first; ties keep input order. */
export async function rankByTailoring<C = CandidateResult>(
  candidates: readonly C[],
  evaluateCandidate: (c: C, position: number) => Promise<number>,
  opts: RankByTailoringOptions = {},
): Promise<TailoringScore<C>[]> {
  const n = Math.min(candidates.length, opts.topK ?? candidates.length);
  const scored: (TailoringScore<C> & { pos: number })[] = [];
  for (let i = 0; i < n; i++) {
    const score = await evaluateCandidate(candidates[i]!, i);
    if (typeof score !== 'number') throw new Error(`evaluateCandidate returned ${typeof score} for candidate ${i}; expected a number`);
    const s = { candidate: candidates[i]!, score, pos: i };
    scored.push(s);
    opts.onProgress?.(i + 1, n, s);
  }
  const key = (x: number): number => (Number.isFinite(x) ? x : Infinity);
  scored.sort((a, b) => key(a.score) - key(b.score) || a.pos - b.pos);
  return scored.map(({ candidate, score }) => ({ candidate, score }));
}

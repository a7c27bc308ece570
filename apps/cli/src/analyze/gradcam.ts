// Fig. 5: what the learned embedding looks at. PCA of g_φ(x_{t−1}, x_t) (or g_φ(x_t)) over
// consecutive ground-truth test frames, then Grad-CAM (Selvaraju et al.) of the leading PCA
// coordinates on the layer the embedding's `featureLayer` names (the cnn embedding: its second
// conv): α_c = spatial mean of ∂score/∂A_c, map = ReLU(Σ_c α_c A_c), upsampled to the frame and
// overlaid on x_t. Any embedding, a user's plugin too, can be mapped by declaring its featureLayer.
import { join } from 'node:path';
import { disposeBatch, frameGrid, imageToPng, linePlot, interrupted, nn, tf, type Batch, type Embedding } from '@noether/core';
import { AnalysisInterrupted } from './inner-steps.js';
import { CliError } from '../cli/errors.js';
import { writeFileAtomic } from '../run/fs-atomic.js';
import type { RunDir } from '../run/run-dir.js';
import { pca, type Pca } from './pca.js';
import type { LoadedPhase } from './video.js';

export interface GradcamOptions {
  /** PCA dimensions to map (default 4; at most the embedding's dimension). */
  dims: number;
  /** Frame pairs shown (rows of the grid, default 6). */
  examples: number;
  /** Test sequences whose frame pairs feed the PCA (default 32). */
  maxSequences: number;
  /** Ctrl-C: stop before the next test batch or PCA dimension, writing nothing (AnalysisInterrupted). */
  signal?: AbortSignal;
}

export interface GradcamResult {
  /** The PCA; the mapped components are oriented as drawn (see gradcam). */
  pca: Pca;
  samples: number;
  sequences: number;
  /** PCA dimensions mapped: the requested number, clamped to the embedding's dimension. */
  dims: number;
  files: string[];
  /** Per shown example and PCA dim: the map's peak before normalisation (0 = no positive evidence). */
  peaks: number[][];
  /** Maps without positive evidence, one line per PCA dim that has any (also in gradcam.txt). */
  notes: string[];
}

/** What Grad-CAM needs from a phase: a learned image embedding that declares its feature layer. */
export interface GradcamTarget {
  loaded: LoadedPhase;
  emb: Embedding;
  /** The layer's name, for captions. */
  layer: string;
  /** Activations A of the layer for frames (x_{t−1}, x_t) (an arity-1 embedding sees x_t only). */
  activation: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  head: (A: tf.Tensor) => tf.Tensor;
}

/**
 * Checks that a phase can be analysed (before anything is written) and exposes the embedding's
 * feature-layer activation A and the rest of its forward pass (core's `FeatureLayer`).
 */
export function gradcamTarget(loaded: LoadedPhase): GradcamTarget {
  const { exp, state } = loaded;
  const emb = exp.embedding;
  if (!emb || exp.config.mode !== 'noether' || !Object.keys(state.phi).length) {
    throw new CliError(`phase '${loaded.phase}' has no learned embedding (mode '${exp.config.mode}'): analyse a Noether phase (--phase)`);
  }
  const fl = emb.featureLayer;
  if (!fl || exp.dataset.obsShape.length !== 3) {
    throw new CliError(
      `Grad-CAM needs a video run (gym-pendulum, physics101, or frames of your own) whose embedding declares the spatial layer to map ` +
        `(its featureLayer, as the 'cnn' embedding does; see docs/plugins.md); phase '${loaded.phase}' has embedding '${emb.name}'` +
        `${fl ? '' : ' without a featureLayer'} on observations of shape [${exp.dataset.obsShape.join(', ')}]`,
    );
  }
  const p = state.phi;
  const xs = (a: tf.Tensor, b: tf.Tensor) => (emb.arity === 2 ? [a, b] : [b]);
  return { loaded, emb, layer: fl.name, activation: (a, b) => fl.features(p, xs(a, b)), head: (A) => fl.head(p, A) };
}

type Colour = (v: number) => [number, number, number];
/** Red-yellow "hot" colour map of v in [0, 1]: evidence for the PC. */
const hot: Colour = (v) => [Math.min(1, 3 * v), Math.min(1, Math.max(0, 3 * v - 1)), Math.min(1, Math.max(0, 3 * v - 2))];
/** Blue-cyan "cold" colour map: evidence for the opposite sign, shown only where the PC has none. */
const cold: Colour = (v) => [Math.min(1, Math.max(0, 3 * v - 2)), Math.min(1, Math.max(0, 3 * v - 1)), Math.min(1, 3 * v)];

/** "1, 2 and 5" */
const list = (xs: number[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : `${xs[0]}`);

export async function gradcam(runDir: RunDir, target: GradcamTarget, o: GradcamOptions): Promise<GradcamResult> {
  const { loaded, emb, activation, head } = target;
  const { exp } = loaded;
  const phi = loaded.state.phi;
  const [H, W, C] = exp.dataset.obsShape as [number, number, number];

  // 1. Embeddings of every consecutive ground-truth pair of the first test sequences.
  const rows: Float32Array[] = [];
  const shown: { a: Float32Array; b: Float32Array }[] = [];
  let seqs = 0;
  const per = H * W * C;
  // Each step is synchronous: a real Ctrl-C (a signal event) is seen only here, between them.
  const stop = async (where: string) => {
    if (await interrupted(o.signal)) throw new AnalysisInterrupted('gradcam', where);
  };
  for await (const batch of exp.dataset.batches('test', { batchSize: exp.config.eval.batchSize, shuffle: false })) {
    try {
      if (seqs >= o.maxSequences) continue;
      await stop(`after ${seqs} test sequences`);
      const take = Math.min(batch.obs.shape[0]!, o.maxSequences - seqs);
      const e = tf.tidy(() => {
        const obs = tf.slice(batch.obs, [0], [take]);
        const fr = tf.unstack(obs, 1);
        const es = fr.slice(1).map((x, t) => emb.apply(phi, emb.arity === 2 ? [fr[t]!, x] : [x]));
        // Once, on the first batch: the split is the embedding's forward pass (a plugin's featureLayer may not be).
        if (seqs === 0) {
          const ref = es[0]!;
          const diff = tf.max(tf.abs(tf.sub(ref, head(activation(fr[0]!, fr[1]!))))).dataSync()[0]!;
          if (!(diff <= 1e-4 * (1 + tf.max(tf.abs(ref)).dataSync()[0]!))) {
            throw new CliError(`Grad-CAM: embedding '${emb.name}': featureLayer.head(featureLayer.features(x)) differs from apply(x) by up to ${diff}; its featureLayer must split apply's own forward pass`);
          }
        }
        return tf.stack(es, 1); // [take, T-1, k]
      });
      const [, T1, k] = e.shape as [number, number, number];
      const data = e.dataSync() as Float32Array;
      for (let i = 0; i < take * T1; i++) rows.push(data.slice(i * k, (i + 1) * k));
      e.dispose();
      // Frame pairs to map: the middle of each sequence.
      const obsData = batch.obs.dataSync() as Float32Array;
      const T = batch.obs.shape[1]!;
      const t = Math.floor(T / 2);
      for (let b = 0; b < take && shown.length < o.examples; b++) {
        const base = b * T * per;
        shown.push({ a: obsData.slice(base + (t - 1) * per, base + t * per), b: obsData.slice(base + t * per, base + (t + 1) * per) });
      }
      seqs += take;
    } finally {
      disposeBatch(batch);
    }
  }
  const p = pca(rows);
  const dims = Math.min(o.dims, emb.dim);
  const cum = p.explained.reduce<number[]>((acc, v) => [...acc, (acc[acc.length - 1] ?? 0) + v], []);
  // 2. Grad-CAM of each leading PCA coordinate on the shown pairs. A PC's sign is arbitrary (v and
  // −v span the same axis), yet the map ReLU(S), S = Σ_c α_c A_c, keeps only the evidence for
  // raising the coordinate: with the unlucky sign every map can be blank. Flipping the PC negates S,
  // so each PC is oriented to hold more positive evidence over the shown pairs (Σ ReLU(S) ≥
  // Σ ReLU(−S)): what the figure is for, and reproducible. A pair whose map is still blank shows
  // the map of −PC in blue instead, and the notes say so.
  const n = shown.length;
  const a = tf.tensor(Float32Array.from(shown.flatMap((s) => [...s.a])), [n, H, W, C]);
  const b = tf.tensor(Float32Array.from(shown.flatMap((s) => [...s.b])), [n, H, W, C]);
  const maps: Float32Array[][] = Array.from({ length: n }, () => []);
  const peaks: number[][] = Array.from({ length: n }, () => []);
  const notes: string[] = [];
  let A: tf.Tensor | undefined;
  try {
    const act = (A = activation(a, b));
    for (let d = 0; d < dims; d++) {
      await stop(`before the map of PC${d + 1}`);
      const cam = tf.tidy(() => {
        const dir = tf.tensor(p.components[d]!, [emb.dim, 1]);
        const mean = tf.tensor(p.mean, [1, emb.dim]);
        // Each example's score depends only on its own activations: one gradient gives all.
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(tf.sub(head(x), mean), dir)))(act);
        const alpha = tf.mean(g, [1, 2], true);
        const S = tf.sum(tf.mul(alpha, act), 3, true); // [n, h, w, 1]
        const up = (m: tf.Tensor) => tf.image.resizeBilinear(tf.relu(m) as tf.Tensor4D, [H, W]);
        return { S, plus: up(S), minus: up(tf.neg(S)) };
      });
      const S = cam.S.dataSync() as Float32Array;
      const plus = cam.plus.dataSync() as Float32Array;
      const minus = cam.minus.dataSync() as Float32Array;
      tf.dispose([cam.S, cam.plus, cam.minus]);
      let pos = 0;
      let neg = 0;
      for (const v of S) v > 0 ? (pos += v) : (neg -= v);
      const flip = neg > pos;
      if (flip) p.components[d] = p.components[d]!.map((v) => -v);
      const [own, opposite] = flip ? [minus, plus] : [plus, minus];
      const hw = S.length / n;
      const fallback: number[] = [];
      const none: number[] = [];
      for (let i = 0; i < n; i++) {
        let peak = 0;
        let peakOpposite = 0;
        for (let q = i * hw; q < (i + 1) * hw; q++) {
          const v = flip ? -S[q]! : S[q]!;
          peak = Math.max(peak, v);
          peakOpposite = Math.max(peakOpposite, -v);
        }
        peaks[i]!.push(peak);
        if (!(peak > 0)) (peakOpposite > 0 ? fallback : none).push(i + 1);
        // This PC's map; else that of −PC, in blue; else nothing.
        const [up, top, colour] = peak > 0 ? [own, peak, hot] : [peakOpposite > 0 ? opposite : undefined, peakOpposite, cold];
        const frame = shown[i]!.b;
        const over = new Float32Array(H * W * 3);
        for (let q = 0; q < H * W; q++) {
          const [r, g2, bl] = colour(up ? up[i * H * W + q]! / top : 0);
          const grey = C === 3 ? (frame[3 * q]! + frame[3 * q + 1]! + frame[3 * q + 2]!) / 3 : frame[q]!;
          over[3 * q] = 0.45 * grey + 0.55 * r;
          over[3 * q + 1] = 0.45 * grey + 0.55 * g2;
          over[3 * q + 2] = 0.45 * grey + 0.55 * bl;
        }
        maps[i]!.push(over);
      }
      if (fallback.length) notes.push(`PC${d + 1}: no positive evidence in row${fallback.length > 1 ? 's' : ''} ${list(fallback)}; shown instead: the map of −PC${d + 1}, in blue`);
      if (none.length) notes.push(`PC${d + 1}: no evidence of either sign in row${none.length > 1 ? 's' : ''} ${list(none)} (the map is blank)`);
    }
  } finally {
    tf.dispose([a, b, ...(A ? [A] : [])]);
  }
  // Written only now, so a Ctrl-C above leaves the run as it was.
  const files: string[] = [];
  files.push(runDir.writeAnalysis('gradcam-pca.csv', ['component,variance,explained,cumulative', ...p.variances.map((v, i) => `${i + 1},${v},${p.explained[i]},${cum[i]}`)].join('\n') + '\n'));
  files.push(runDir.writePlot('gradcam-pca', imageToPng(linePlot({
    title: 'PCA of the embedding: explained variance', xLabel: 'component', yLabel: 'fraction of variance',
    series: [{ name: 'per component', x: p.explained.map((_, i) => i + 1), y: p.explained }, { name: 'cumulative', x: cum.map((_, i) => i + 1), y: cum }],
  }))));

  const rgb = (f: Float32Array) => (C === 3 ? f : Float32Array.from({ length: H * W * 3 }, (_, j) => f[Math.floor(j / 3)]!));
  const grid = shown.map((s, i) => [rgb(s.a), rgb(s.b), ...maps[i]!]);
  const scale = H <= 32 ? 4 : H <= 64 ? 2 : 1;
  const captions = { rowLabels: shown.map((_, i) => `sequence ${i + 1}`), colLabels: ['x(t-1)', 'x(t)', ...Array.from({ length: dims }, (_, d) => `PC${d + 1}`)] };
  files.push(runDir.writePlot('gradcam', imageToPng(frameGrid(grid, { height: H, width: W, channels: 3, scale, ...captions }))));
  const note = join(runDir.path, 'plots', 'gradcam.txt');
  writeFileAtomic(note,
    `gradcam.png: one row per test frame pair (middle of the first ${n} test sequences).\n` +
    `Columns: x_{t-1}, x_t, then the Grad-CAM map (on the embedding's layer ${target.layer}) of PCA dims 1..${dims} overlaid on x_t,\n` +
    `red-yellow where the features raise the PC coordinate. A PC's sign is arbitrary: each is oriented so its maps over these pairs hold the most such evidence.\n` +
    `Explained variance: ${p.explained.slice(0, dims).map((v, i) => `PC${i + 1} ${(100 * v).toFixed(2)}%`).join(', ')} (cumulative ${(100 * cum[dims - 1]!).toFixed(2)}%).\n` +
    (notes.length ? notes.join('\n') : 'Every map has positive evidence.') + '\n');
  files.push(note);
  return { pca: p, samples: rows.length, sequences: seqs, dims, files, peaks, notes };
}

export type { Batch };

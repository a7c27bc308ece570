// Fig. 5: what the learned embedding looks at. PCA of g_φ(x_{t−1}, x_t) over consecutive
// ground-truth test frames, then Grad-CAM (Selvaraju et al.) of the leading PCA coordinates on the
// embedding's second conv layer: α_c = spatial mean of ∂score/∂A_c, map = ReLU(Σ_c α_c A_c),
// upsampled to the frame and overlaid on x_t.
import { join } from 'node:path';
import { frameGrid, imageToPng, linePlot, nn, tf, type Batch, type Embedding, type Params } from '@noether/core';
import { writeFileAtomic } from '../run/fs-atomic.js';
import type { RunDir } from '../run/run-dir.js';
import { pca, type Pca } from './pca.js';
import type { LoadedPhase } from './video.js';

export interface GradcamOptions {
  /** PCA dimensions to map (default 4). */
  dims: number;
  /** Frame pairs shown (rows of the grid, default 6). */
  examples: number;
  /** Test sequences whose frame pairs feed the PCA (default 32). */
  maxSequences: number;
  log?: (line: string) => void;
}

export interface GradcamResult {
  pca: Pca;
  samples: number;
  files: string[];
  /** Per shown example and PCA dim: the map's peak before normalisation (0 = no positive evidence). */
  peaks: number[][];
}

/** The cnn embedding's forward pass, exposing the second conv layer's (ReLU) activation A. */
function cnnParts(emb: Embedding, p: Params) {
  const o = (emb as unknown as { options?: { filters?: number[] } }).options;
  if (emb.name !== 'cnn' || !o || !p['conv1/w'] || !p['conv2/w'] || !p['fc/w']) {
    throw new Error(`Grad-CAM supports the 'cnn' embedding (two conv layers + fc); this run's embedding is '${emb.name}'`);
  }
  const activation = (a: tf.Tensor, b: tf.Tensor) => {
    const h1 = nn.maxPool2x2(tf.relu(nn.conv2d(p, 'conv1', tf.concat([a, b], 3), { pad: 'same' })));
    return tf.relu(nn.conv2d(p, 'conv2', h1, { pad: 'same' }));
  };
  const head = (A: tf.Tensor) => {
    const h2 = nn.maxPool2x2(A);
    return nn.dense(p, 'fc', tf.reshape(h2, [A.shape[0]!, -1]));
  };
  return { activation, head };
}

/** Red-yellow "hot" colour map of v in [0, 1]. */
function hot(v: number): [number, number, number] {
  return [Math.min(1, 3 * v), Math.min(1, Math.max(0, 3 * v - 1)), Math.min(1, Math.max(0, 3 * v - 2))];
}

export async function gradcam(runDir: RunDir, loaded: LoadedPhase, o: GradcamOptions): Promise<GradcamResult> {
  const { exp, state } = loaded;
  const emb = exp.embedding;
  if (!emb || exp.config.mode !== 'noether' || !Object.keys(state.phi).length) {
    throw new Error(`phase '${loaded.phase}' has no learned embedding (mode '${exp.config.mode}'): analyse a Noether phase (--phase)`);
  }
  if (emb.arity !== 2) throw new Error(`Grad-CAM here expects a frame-pair embedding (arity 2), got arity ${emb.arity}`);
  const phi = state.phi;
  const { activation, head } = cnnParts(emb, phi);
  const [H, W, C] = exp.dataset.obsShape as [number, number, number];

  // 1. Embeddings of every consecutive ground-truth pair of the first test sequences.
  const rows: Float32Array[] = [];
  const shown: { a: Float32Array; b: Float32Array }[] = [];
  let seqs = 0;
  const per = H * W * C;
  for await (const batch of exp.dataset.batches('test', { batchSize: exp.config.eval.batchSize, shuffle: false })) {
    try {
      if (seqs >= o.maxSequences) continue;
      const take = Math.min(batch.obs.shape[0]!, o.maxSequences - seqs);
      const e = tf.tidy(() => {
        const obs = tf.slice(batch.obs, [0], [take]);
        const fr = tf.unstack(obs, 1);
        // Check once that the re-implemented forward pass is the embedding's.
        const ref = emb.apply(phi, [fr[0]!, fr[1]!]);
        const mine = head(activation(fr[0]!, fr[1]!));
        const diff = tf.max(tf.abs(tf.sub(ref, mine))).dataSync()[0]!;
        if (!(diff <= 1e-4 * (1 + tf.max(tf.abs(ref)).dataSync()[0]!))) throw new Error(`Grad-CAM: the embedding's forward pass differs from the cnn layout (max difference ${diff}); update analyze/gradcam.ts`);
        return tf.stack(fr.slice(1).map((x, t) => emb.apply(phi, [fr[t]!, x])), 1); // [take, T-1, k]
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
      tf.dispose([batch.obs, batch.actions].filter((x) => x) as tf.Tensor[]);
    }
  }
  const p = pca(rows);
  const dims = Math.min(o.dims, emb.dim);
  const cum = p.explained.reduce<number[]>((acc, v) => [...acc, (acc[acc.length - 1] ?? 0) + v], []);
  o.log?.(`PCA over ${rows.length} frame pairs (${seqs} test sequences): explained variance ${p.explained.slice(0, Math.max(dims, 6)).map((v, i) => `PC${i + 1} ${(100 * v).toFixed(1)}%`).join(', ')}`);
  const files: string[] = [];
  const csv = join(runDir.path, 'analysis', 'gradcam-pca.csv');
  writeFileAtomic(csv, ['component,variance,explained,cumulative', ...p.variances.map((v, i) => `${i + 1},${v},${p.explained[i]},${cum[i]}`)].join('\n') + '\n');
  files.push(csv);
  files.push(runDir.writePlot('gradcam-pca', imageToPng(linePlot({
    title: 'PCA of the embedding: explained variance', xLabel: 'component', yLabel: 'fraction of variance',
    series: [{ name: 'per component', x: p.explained.map((_, i) => i + 1), y: p.explained }, { name: 'cumulative', x: cum.map((_, i) => i + 1), y: cum }],
  }))));

  // 2. Grad-CAM of each leading PCA coordinate on the shown pairs.
  const n = shown.length;
  const a = tf.tensor(Float32Array.from(shown.flatMap((s) => [...s.a])), [n, H, W, C]);
  const b = tf.tensor(Float32Array.from(shown.flatMap((s) => [...s.b])), [n, H, W, C]);
  const maps: Float32Array[][] = Array.from({ length: n }, () => []);
  const peaks: number[][] = Array.from({ length: n }, () => []);
  try {
    const A = activation(a, b);
    for (let d = 0; d < dims; d++) {
      const cam = tf.tidy(() => {
        const dir = tf.tensor(p.components[d]!, [emb.dim, 1]);
        const mean = tf.tensor(p.mean, [1, emb.dim]);
        // Each example's score depends only on its own activations: one gradient gives all.
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(tf.sub(head(x), mean), dir)))(A);
        const alpha = tf.mean(g, [1, 2], true);
        const raw = tf.relu(tf.sum(tf.mul(alpha, A), 3, true)); // [n, h, w, 1]
        const peak = tf.max(raw, [1, 2, 3]);
        const up = tf.image.resizeBilinear(raw as tf.Tensor4D, [H, W]);
        return { up: tf.div(up, tf.reshape(tf.maximum(peak, 1e-12), [n, 1, 1, 1])), peak };
      });
      const up = cam.up.dataSync() as Float32Array;
      const pk = cam.peak.dataSync() as Float32Array;
      tf.dispose([cam.up, cam.peak]);
      for (let i = 0; i < n; i++) {
        peaks[i]!.push(pk[i]!);
        const frame = shown[i]!.b;
        const over = new Float32Array(H * W * 3);
        for (let q = 0; q < H * W; q++) {
          const v = up[i * H * W + q]!;
          const [r, g2, bl] = hot(v);
          const grey = C === 3 ? (frame[3 * q]! + frame[3 * q + 1]! + frame[3 * q + 2]!) / 3 : frame[q]!;
          over[3 * q] = 0.45 * grey + 0.55 * r;
          over[3 * q + 1] = 0.45 * grey + 0.55 * g2;
          over[3 * q + 2] = 0.45 * grey + 0.55 * bl;
        }
        maps[i]!.push(over);
      }
    }
    A.dispose();
  } finally {
    tf.dispose([a, b]);
  }
  const rgb = (f: Float32Array) => (C === 3 ? f : Float32Array.from({ length: H * W * 3 }, (_, j) => f[Math.floor(j / 3)]!));
  const grid = shown.map((s, i) => [rgb(s.a), rgb(s.b), ...maps[i]!]);
  const scale = H <= 32 ? 4 : H <= 64 ? 2 : 1;
  files.push(runDir.writePlot('gradcam', imageToPng(frameGrid(grid, { height: H, width: W, channels: 3, scale }))));
  const note = join(runDir.path, 'plots', 'gradcam.txt');
  writeFileAtomic(note,
    `gradcam.png: one row per test frame pair (middle of the first ${n} test sequences).\n` +
    `Columns: x_{t-1}, x_t, then the Grad-CAM map (on the embedding's second conv layer) of PCA dims 1..${dims} overlaid on x_t.\n` +
    `Explained variance: ${p.explained.slice(0, dims).map((v, i) => `PC${i + 1} ${(100 * v).toFixed(2)}%`).join(', ')} (cumulative ${(100 * cum[dims - 1]!).toFixed(2)}%).\n`);
  files.push(note);
  return { pca: p, samples: rows.length, files, peaks };
}

export type { Batch };

// Fig. 6: inner (Noether) and outer (task) loss against the number of inner tailoring steps on the
// test split, with plain tailoring (no second-order tracking), e.g. 500 Adam steps at lr 1e-4.
import { join } from 'node:path';
import {
  adamInit, adamStep, deriveSeed, imageToPng, linePlot, makeWindow, mseTaskLoss, noetherLoss, tailorable, tf, tidy, unstackTime, valueAndGradsOf,
  type AdamState, type InnerOptimizerKind, type Params,
} from '@noether/core';
import { writeFileAtomic } from '../run/fs-atomic.js';
import type { RunDir } from '../run/run-dir.js';
import { stackImages, type LoadedPhase } from './video.js';

export interface InnerStepsOptions {
  steps: number;
  optimizer: InnerOptimizerKind;
  lr: number;
  /** Test batches to average over (default 1). */
  maxBatches: number;
  /** Batch size (default: the run's eval batch size). */
  batchSize?: number;
  log?: (line: string) => void;
}

export interface InnerStepsResult {
  /** Mean over test sequences of the inner and outer loss after k steps, k = 0..steps. */
  inner: number[];
  outer: number[];
  sequences: number;
  files: string[];
}

export async function innerSteps(runDir: RunDir, loaded: LoadedPhase, o: InnerStepsOptions): Promise<InnerStepsResult> {
  const { exp, state } = loaded;
  const setup = exp.testSetup;
  const emb = exp.embedding;
  if (!emb || exp.config.mode === 'baseline') throw new Error(`phase '${loaded.phase}' does not tailor (mode '${exp.config.mode}'): analyse a Noether phase (--phase)`);
  const inner = new Array<number>(o.steps + 1).fill(0);
  const outer = new Array<number>(o.steps + 1).fill(0);
  let n = 0;
  let nb = 0;
  const every = Math.max(1, Math.floor(o.steps / 10));
  for await (const batch of exp.dataset.batches('test', { batchSize: o.batchSize ?? exp.config.eval.batchSize, shuffle: false })) {
    if (nb >= o.maxBatches) {
      tf.dispose([batch.obs, batch.actions].filter((x) => x) as tf.Tensor[]);
      continue;
    }
    const B = batch.obs.shape[0]!;
    tf.engine().startScope();
    try {
      const w = makeWindow(setup.predictor, batch, {
        contextLength: setup.contextLength ?? setup.predictor.contextLength,
        horizon: setup.horizon,
        noiseSeed: deriveSeed(exp.config.seed, `eval-noise-${nb}`),
      });
      const { vars: v0, run } = tailorable(
        { predictor: setup.predictor, theta: state.theta, embedding: emb, phi: state.phi, inner: setup.inner, form: setup.form, mode: setup.tailorMode },
        w.seq,
      );
      const context = unstackTime(w.seq.context);
      let vars: Params = v0;
      let adam: AdamState | undefined = o.optimizer === 'adam' ? adamInit(v0) : undefined;
      for (let k = 0; k <= o.steps; k++) {
        const last = k === o.steps;
        const r = tidy(() => {
          let task: tf.Scalar | undefined;
          const loss = (v: Params) => {
            const preds = run(v).preds;
            // The task loss of the same rollout, kept out of the gradient scope's cleanup.
            task = tf.keep(mseTaskLoss(preds, w.targets));
            return noetherLoss(emb, state.phi, context, preds, setup.form);
          };
          if (last) {
            const value = loss(vars);
            return { value, task: task!, next: undefined, m: undefined, v: undefined };
          }
          const { value, grads } = valueAndGradsOf(loss, vars);
          if (adam) {
            const s = adamStep(vars, grads, adam, { lr: o.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
            return { value, task: task!, next: s.params, m: s.state.m, v: s.state.v };
          }
          const next: Params = {};
          for (const [name, t] of Object.entries(vars)) next[name] = tf.sub(t, tf.mul(grads[name]!, o.lr));
          return { value, task: task!, next, m: undefined, v: undefined };
        });
        const iv = r.value.dataSync()[0]!;
        const ov = r.task.dataSync()[0]!;
        tf.dispose([r.value, r.task]);
        if (!Number.isFinite(iv) || !Number.isFinite(ov)) throw new Error(`inner-steps: non-finite loss at step ${k} (inner ${iv}, outer ${ov}): lower --lr`);
        inner[k]! += iv * B;
        outer[k]! += ov * B;
        if (r.next) {
          if (vars !== v0) for (const t of Object.values(vars)) t.dispose();
          if (adam) {
            for (const t of [...Object.values(adam.m), ...Object.values(adam.v)]) t.dispose();
            adam = { step: adam.step + 1, m: r.m!, v: r.v! };
          }
          vars = r.next;
        }
        if (nb === 0 && (k % every === 0 || last)) o.log?.(`[inner-steps] batch ${nb + 1} step ${k}/${o.steps}: inner ${iv.toExponential(4)}  outer ${ov.toExponential(4)}`);
      }
    } finally {
      tf.engine().endScope();
      tf.dispose([batch.obs, batch.actions].filter((x) => x) as tf.Tensor[]);
    }
    n += B;
    nb++;
  }
  if (!n) throw new Error('inner-steps: the test split is empty');
  for (let k = 0; k <= o.steps; k++) {
    inner[k]! /= n;
    outer[k]! /= n;
  }
  const files: string[] = [];
  const csv = join(runDir.path, 'analysis', 'inner-steps.csv');
  writeFileAtomic(csv, ['step,inner_loss,outer_loss', ...inner.map((v, k) => `${k},${v},${outer[k]}`)].join('\n') + '\n');
  files.push(csv);
  const x = inner.map((_, k) => k);
  const title = `${o.steps} ${o.optimizer} steps, lr ${o.lr}, ${n} seqs`;
  const img = stackImages([
    linePlot({ title: `inner loss, ${title}`, xLabel: 'inner steps', yLabel: 'inner loss', series: [{ name: 'inner loss', x, y: inner }] }),
    linePlot({ title: 'outer (task) loss of the tailored prediction', xLabel: 'inner steps', yLabel: 'sum over t of MSE', series: [{ name: 'outer loss', x, y: outer, color: [0.839, 0.153, 0.157] }] }),
  ]);
  files.push(runDir.writePlot('inner-steps', imageToPng(img)));
  return { inner, outer, sequences: n, files };
}

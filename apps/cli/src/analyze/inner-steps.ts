// Fig. 6: inner (Noether) and outer (task) loss against the number of inner tailoring steps on the
// test split, with plain tailoring (no second-order tracking), e.g. 500 Adam steps at lr 1e-4.
// With `oracle`, tailoring minimises the task loss itself (it sees the ground truth): the most that
// any embedding could gain with these variables, optimiser and steps. If that is nothing, the
// tailored variables do not reach the prediction, and no meta-learned embedding can help.
import { join } from 'node:path';
import {
  GradientInnerOptimizer, deriveSeed, imageToPng, linePlot, makeWindow, mseTaskLoss, noetherLoss, tailorable, tf, tidy, unstackTime,
  type InnerOptimizerKind, type Params, type TailorMode,
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
  /** Tailor on the task loss against the ground truth instead of the Noether loss. */
  oracle?: boolean;
  /** Tailored variables (default: the run's). */
  tailor?: TailorMode;
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
  if (!o.oracle && (!emb || exp.config.mode === 'baseline')) throw new Error(`phase '${loaded.phase}' does not tailor (mode '${exp.config.mode}'): analyse a Noether phase (--phase), or tailor on the true loss (--oracle)`);
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
      const { vars: v0, run, perExample } = tailorable(
        { predictor: setup.predictor, theta: state.theta, embedding: emb, phi: state.phi, inner: setup.inner, form: setup.form, mode: o.tailor ?? setup.tailorMode },
        w.seq,
      );
      const context = unstackTime(w.seq.context);
      // The task loss of each rollout the inner loss sees, kept out of the optimiser's cleanup.
      let task: tf.Scalar | undefined;
      const loss = (v: Params) => {
        const preds = run(v).preds;
        task?.dispose();
        task = tf.keep(mseTaskLoss(preds, w.targets));
        return o.oracle ? task.clone() : noetherLoss(emb!, state.phi, context, preds, setup.form);
      };
      const record = (k: number, value: tf.Scalar) => {
        const iv = value.dataSync()[0]!;
        const ov = task!.dataSync()[0]!;
        if (!Number.isFinite(iv) || !Number.isFinite(ov)) throw new Error(`inner-steps: non-finite loss at step ${k} (inner ${iv}, outer ${ov}): lower --lr`);
        inner[k]! += iv * B;
        outer[k]! += ov * B;
        if (nb === 0 && (k % every === 0 || k === o.steps)) o.log?.(`[inner-steps] batch ${nb + 1} step ${k}/${o.steps}: inner ${iv.toExponential(4)}  outer ${ov.toExponential(4)}`);
      };
      // Plain tailoring (nothing to differentiate through), then the loss after the last step.
      const opt = new GradientInnerOptimizer({ kind: o.optimizer, steps: o.steps, lr: o.lr });
      const r = opt.minimize(loss, v0, { differentiable: false, perExample, onStep: record });
      tf.dispose(r.losses);
      record(o.steps, tidy(() => loss(r.vars)));
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
  const name = o.oracle ? 'inner-steps-oracle' : 'inner-steps';
  const csv = join(runDir.path, 'analysis', `${name}.csv`);
  // Each row says how it was made: the next analysis with other settings replaces the file.
  const how = `${loaded.phase},${o.optimizer},${o.lr},${o.tailor ?? setup.tailorMode ?? setup.predictor.tailor}`;
  writeFileAtomic(csv, ['step,inner_loss,outer_loss,phase,optimizer,lr,tailor', ...inner.map((v, k) => `${k},${v},${outer[k]},${how}`)].join('\n') + '\n');
  files.push(csv);
  const x = inner.map((_, k) => k);
  const title = `${o.steps} ${o.optimizer} steps, lr ${o.lr}, ${n} seqs${o.tailor ? `, tailoring '${o.tailor}'` : ''}`;
  const img = stackImages([
    linePlot({ title: `${o.oracle ? 'oracle inner loss (= the task loss)' : 'inner loss'}, ${title}`, xLabel: 'inner steps', yLabel: 'inner loss', series: [{ name: 'inner loss', x, y: inner }] }),
    linePlot({ title: 'outer (task) loss of the tailored prediction', xLabel: 'inner steps', yLabel: 'sum over t of MSE', series: [{ name: 'outer loss', x, y: outer, color: [0.839, 0.153, 0.157] }] }),
  ]);
  files.push(runDir.writePlot(name, imageToPng(img)));
  return { inner, outer, sequences: n, files };
}

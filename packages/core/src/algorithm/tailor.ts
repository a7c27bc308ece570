// predictSequence: initial rollout, inner tailoring on the Noether loss, final
// rollout with the tailored variables (paper, Sec. 3).
import { tf } from '../tf.js';
import type { Embedding, InnerOptimizer, Predictor, State, StepInput, TailorMode } from '../contracts.js';
import type { Params } from '../params.js';
import { pickParams, tidy } from '../params.js';
import { noetherLoss, type NoetherForm } from './noether-loss.js';
import { rollout, unstackTime, type RolloutResult } from './rollout.js';

export interface TailorSetup {
  predictor: Predictor;
  theta: Params;
  /** The conservation embedding; absent means no tailoring (baseline). */
  embedding?: Embedding;
  phi?: Params;
  inner: InnerOptimizer;
  form: NoetherForm;
  /** Overrides the predictor's default tailoring mode. */
  mode?: TailorMode;
}

export interface SequenceInput {
  /** [B, C, ...obsShape] ground-truth context. */
  context: tf.Tensor;
  /** One entry per predicted step. */
  inputs: StepInput[];
  /** [B, T, A] all actions of the window, for predictors that encode them up front. */
  actions?: tf.Tensor;
}

export interface SequencePrediction {
  /** The rollout before tailoring (only when asked for). */
  untailored?: RolloutResult;
  /** The rollout with tailored variables (equals untailored when nothing is tailored). */
  tailored: RolloutResult;
  /** Inner Noether loss before each inner step. */
  innerLosses: tf.Scalar[];
  /** The tailored variables (θ subset, CN parameters or latent activations). */
  vars: Params;
}

/** Why `p` cannot tailor in `mode` (undefined if it can): the one check that both tailoring and
 * defineExperiment (which refuses the config before any training) apply. */
export function tailorModeProblem(p: Predictor, mode: TailorMode): string | undefined {
  if (!p.tailorModes.includes(mode)) return `predictor '${p.name}' cannot tailor in mode '${mode}'; it supports: ${p.tailorModes.join(', ')}`;
  if (mode === 'cn' && !p.conditioning) {
    return `predictor '${p.name}' lists mode 'cn' but has no conditioning(params, batchSize) method declaring the conditional-normalisation parameters to tailor`;
  }
  return undefined;
}

/** The variables tailoring adapts, a rollout as a function of them, and whether they are per example
 * (a leading batch axis: CN and latent tailoring) rather than θ shared by the batch. */
export function tailorable(setup: TailorSetup, seq: SequenceInput): { vars: Params; run: (vars: Params) => RolloutResult; perExample: boolean } {
  const { predictor: p, theta } = setup;
  const mode = setup.mode ?? p.tailor;
  const problem = tailorModeProblem(p, mode);
  if (problem) throw new Error(problem);
  const init = { actions: seq.actions };
  switch (mode) {
    case 'all': {
      const names = p.tailoredNames?.(theta) ?? Object.keys(theta);
      const run = (v: Params) => {
        const th = { ...theta, ...v };
        return rollout(p, th, p.initState(th, seq.context, init), seq.inputs);
      };
      return { vars: pickParams(theta, names), run, perExample: false };
    }
    case 'cn': {
      const cn = p.conditioning!(theta, seq.context.shape[0]!);
      const watched = mustRead(p, 'cn', 'conditioning() returned', 'from params under those names (e.g. nn.maybeConditionalNorm(params, name, x))', Object.keys(cn));
      const run = (v: Params) => watched({ ...theta, ...v }, (th) => rollout(p, th, p.initState(th, seq.context, init), seq.inputs));
      return { vars: cn, run, perExample: true };
    }
    case 'latent': {
      const s0: State = p.initState(theta, seq.context, init);
      if (!s0.latent || !Object.keys(s0.latent).length) {
        throw new Error(`predictor '${p.name}' has no latent activations to tailor`);
      }
      const watched = mustRead(p, 'latent', 'initState put in State.latent', 'from state.latent and return the next ones in its State', Object.keys(s0.latent));
      const run = (v: Params) => watched(v, (latent) => rollout(p, theta, { ...s0, latent }, seq.inputs));
      return { vars: s0.latent, run, perExample: true };
    }
  }
}

/**
 * Wraps a rollout so that its first run goes through a proxy that notes which entries of `record`
 * it reads, and throws if it never reads one of `names`. A per-example variable that the rollout
 * does not read would be "tailored" silently to no effect (its gradient is zero), which in practice
 * means the predictor reads it under another name than the one it declared, or drops it from its
 * state. Later runs (the inner steps, the tailored rollout) read the same names: they run bare.
 */
function mustRead(p: Predictor, mode: TailorMode, declared: string, fix: string, names: string[]) {
  let checked = false;
  return <R>(record: Params, f: (record: Params) => R): R => {
    if (checked) return f(record);
    const read = new Set<string>();
    const watched = new Proxy(record, {
      get(target, key, receiver) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const out = f(watched);
    const unread = names.filter((n) => !read.has(n));
    if (unread.length) {
      tf.dispose(out as tf.TensorContainer);
      throw new Error(
        `predictor '${p.name}', tailoring mode '${mode}': ${declared} ${unread.map((n) => `'${n}'`).join(', ')}, but the rollout never reads ` +
          `${unread.length > 1 ? 'them' : 'it'}, so tailoring would change nothing: step must read ${unread.length > 1 ? 'them' : 'it'} ${fix}`,
      );
    }
    checked = true;
    return out;
  };
}

/**
 * Predicts a sequence with tailoring. `differentiable` keeps the inner update on the
 * tape (meta-training); otherwise tailoring is plain gradient descent (prediction).
 * Leaves no intermediate behind (rollout states, the unstacked context, the untailored rollout
 * nobody asked for), so it can be called in a loop outside tf.tidy: the caller owns and disposes
 * what it returns, except `vars` in mode 'all' when nothing was tailored (no embedding, 0 steps),
 * which are θ's own tensors.
 */
export function predictSequence(
  setup: TailorSetup,
  seq: SequenceInput,
  opts: { differentiable: boolean; untailored?: boolean },
): SequencePrediction {
  return tidy(() => {
    const { vars, run, perExample } = tailorable(setup, seq);
    const { embedding, phi } = setup;
    const untailored = opts.untailored || !embedding || setup.inner.options.steps === 0 ? run(vars) : undefined;
    if (!embedding || setup.inner.options.steps === 0) {
      return { untailored: opts.untailored ? untailored : undefined, tailored: untailored!, innerLosses: [], vars };
    }
    const context = unstackTime(seq.context);
    const loss = (v: Params) => noetherLoss(embedding, phi ?? {}, context, run(v).preds, setup.form);
    const { vars: tailoredVars, losses } = setup.inner.minimize(loss, vars, { differentiable: opts.differentiable, perExample });
    return { untailored, tailored: run(tailoredVars), innerLosses: losses, vars: tailoredVars };
  });
}

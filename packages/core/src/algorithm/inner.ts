// The inner (tailoring) optimiser: SGD or Adam for n steps on the Noether loss.
// Differentiable mode keeps the update on the gradient tape so the outer loss
// is differentiated through it (second order); first-order mode cuts the
// gradient of the update direction; plain mode (prediction) records nothing.
import { tf } from '../tf.js';
import { tidy, valueAndGradsOrZero } from '../params.js';
import type { InnerMinimizeOptions, InnerOptimizer, InnerOptimizerOptions, InnerResult } from '../contracts.js';
import type { Params } from '../params.js';
import { adamInit, adamStep, type AdamState } from './adam.js';
import { interruptCheck } from './interrupt.js';

export const defaultInnerOptions: InnerOptimizerOptions = {
  kind: 'sgd',
  steps: 1,
  lr: 1e-3,
  firstOrder: false,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
};

/** Identity forward, zero gradient: tfjs has no stopGradient op. */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * Value and gradients of loss w.r.t. every entry of vars: the partial derivatives of `loss` as a
 * function of the tensors it is given.
 *
 * The loss is evaluated at fresh identity copies of vars. tfjs finds the path x → y by scanning the
 * whole active tape, which under an outer gradient scope includes ops recorded *before* this call;
 * a var derived from θ (latent tailoring) may already have consumers there, e.g. an LSTM state
 * {h, c} where h = o·tanh(c). Differentiating w.r.t. the var itself would then also count
 * ∂loss/∂h · ∂h/∂c in c's gradient — but only when a tape is active (meta-training), not at
 * prediction time. A copy has no earlier consumers; its Identity node links it back to the var,
 * so the outer (second-order) gradient still flows through the var's construction.
 */
export function valueAndGradsOf(loss: (vars: Params) => tf.Scalar, vars: Params): { value: tf.Scalar; grads: Params } {
  return tidy(() => {
    const names = Object.keys(vars);
    const f = (...ts: tf.Tensor[]) => {
      const v: Params = {};
      names.forEach((n, i) => (v[n] = ts[i]!));
      return loss(v);
    };
    const { value, grads } = valueAndGradsOrZero(f, names.map((n) => tf.clone(vars[n]!)));
    const g: Params = {};
    names.forEach((n, i) => (g[n] = grads[i]!));
    return { value: value as tf.Scalar, grads: g };
  });
}

/** 1/‖g‖ over all vars, or per example ([B] over every axis but the first), shaped to broadcast
 * against a var of the given rank. Differentiable: the meta-gradient sees the direction change. */
function inverseNorm(g: Params, perExample: boolean): (rank: number) => tf.Tensor {
  const sq = Object.values(g).map((t) => {
    if (!perExample) return tf.sum(tf.square(t));
    return t.rank > 1 ? tf.sum(tf.square(t), Array.from({ length: t.rank - 1 }, (_, i) => i + 1)) : tf.square(t);
  });
  // √(s + ε²), not √s + ε: finite second derivatives where an example's gradient is exactly 0.
  const inv = tf.div(1, tf.sqrt(tf.add(sq.length === 1 ? sq[0]! : tf.addN(sq), 1e-24)));
  return (rank) => (perExample && inv.rank === 1 ? tf.reshape(inv, [-1, ...Array<number>(Math.max(rank - 1, 0)).fill(1)]) : inv);
}

export class GradientInnerOptimizer implements InnerOptimizer {
  readonly options: InnerOptimizerOptions;
  constructor(options: Partial<InnerOptimizerOptions> = {}) {
    this.options = { ...defaultInnerOptions, ...options };
    if (!(this.options.steps >= 0) || !Number.isInteger(this.options.steps)) {
      throw new Error(`inner.steps must be a non-negative integer, got ${this.options.steps}`);
    }
  }

  minimize(loss: (vars: Params) => tf.Scalar, vars: Params, opts: InnerMinimizeOptions): InnerResult {
    const it = this.stepwise(loss, vars, opts);
    for (;;) {
      const s = it.next();
      if (s.done) return s.value;
    }
  }

  /**
   * minimize's plain (prediction) tailoring for long test-time runs that Ctrl-C must stop: the same
   * steps, checking `signal` between them (interruptCheck: the event loop gets a turn about every
   * `everyMs`, so a signal handler can run). Resolves to minimize's result, bit for bit, or to
   * undefined when `signal` aborted, with every tensor it made freed (the caller's vars never).
   * Plain only: a differentiable loop runs inside a synchronous gradient function.
   */
  async minimizeInterruptibly(
    loss: (vars: Params) => tf.Scalar,
    vars: Params,
    opts: Omit<InnerMinimizeOptions, 'differentiable'>,
    signal?: AbortSignal,
    everyMs = 50,
  ): Promise<InnerResult | undefined> {
    const it = this.stepwise(loss, vars, { ...opts, differentiable: false });
    const stop = interruptCheck(signal, everyMs);
    for (;;) {
      const s = it.next();
      if (s.done) return s.value;
      if (await stop()) {
        it.return(undefined as never);
        return undefined;
      }
    }
  }

  /**
   * The inner loop itself, one step per next() (yielding the index of the step just taken) and
   * returning minimize's result: minimize runs it straight through, minimizeInterruptibly pauses
   * between steps. Stopped early (return(), or an error from the loss or from onStep), it frees the
   * losses, iterates and Adam moments it holds, never the caller's vars.
   */
  *stepwise(loss: (vars: Params) => tf.Scalar, vars: Params, opts: InnerMinimizeOptions): Generator<number, InnerResult, undefined> {
    const o = this.options;
    const cut = !opts.differentiable || o.firstOrder;
    const perExampleScale = opts.perExample ? Object.values(vars)[0]?.shape[0] : undefined;
    let cur = vars;
    let adam: AdamState | undefined = o.kind === 'adam' ? adamInit(vars) : undefined;
    const losses: tf.Scalar[] = [];
    // The step computed but not yet taken over (onStep may throw in between).
    let pending: { value: tf.Scalar; upd: Params; m: Params; v: Params } | undefined;
    let finished = false;
    try {
      for (let k = 0; k < o.steps; k++) {
        const next = (pending = tidy(() => {
          const { value, grads } = valueAndGradsOf(loss, cur);
          const g: Params = {};
          for (const [n, t] of Object.entries(grads)) {
            // Per-example vars under a batch-mean loss: example b's gradient is ∇L_b / B. Times B it is
            // ∇L_b, the step the sequence would take alone, so neither the batch size (eval.batchSize,
            // a short last batch) nor the other sequences change its prediction.
            const own = perExampleScale ? tf.mul(t, perExampleScale) : t;
            g[n] = cut ? stopGradient(own) : own;
          }
          if (adam) {
            const r = adamStep(cur, g, adam, { lr: o.lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, differentiable: !cut });
            return { value, upd: r.params, m: r.state.m, v: r.state.v };
          }
          const upd: Params = {};
          const scale = o.kind === 'nsgd' ? inverseNorm(g, opts.perExample ?? false) : undefined;
          for (const [n, t] of Object.entries(cur)) {
            const step = scale ? tf.mul(g[n]!, scale(g[n]!.rank)) : g[n]!;
            upd[n] = tf.sub(t, tf.mul(step, o.lr));
          }
          return { value, upd, m: {} as Params, v: {} as Params };
        }));
        opts.onStep?.(k, next.value);
        if (!opts.differentiable) {
          // Nothing flows back through plain tailoring: free each iterate as soon as it is replaced,
          // so memory stays flat over hundreds of test-time steps.
          if (cur !== vars) for (const t of Object.values(cur)) t.dispose();
          if (adam) for (const t of [...Object.values(adam.m), ...Object.values(adam.v)]) t.dispose();
        }
        losses.push(next.value);
        cur = next.upd;
        if (adam) adam = { step: adam.step + 1, m: next.m, v: next.v };
        pending = undefined;
        yield k;
      }
      if (!opts.differentiable && adam) for (const t of [...Object.values(adam.m), ...Object.values(adam.v)]) t.dispose();
      finished = true;
      return { vars: cur, losses };
    } finally {
      if (!finished) {
        // Stopped early: free what the loop holds, never the caller's vars.
        const mine: tf.Tensor[] = [...losses];
        if (pending) mine.push(pending.value, ...Object.values(pending.upd), ...Object.values(pending.m), ...Object.values(pending.v));
        if (cur !== vars) mine.push(...Object.values(cur));
        if (adam) mine.push(...Object.values(adam.m), ...Object.values(adam.v));
        tf.dispose(mine);
      }
    }
  }
}

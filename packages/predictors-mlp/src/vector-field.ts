// State-space predictors of the HNN experiments: a network gives the vector field dx/dt and a step
// integrates it over Δt, by one explicit Euler step x + f(x)·Δt (default) or one classic RK4 step
// x + Δt/6·(k1 + 2k2 + 2k3 + k4) (`integrator: 'rk4'`, four evaluations of the learned field).
// 'mlp' reads dx/dt off the network directly (HNN's "baseline"); 'hnn' reads a scalar H off
// output 0 and follows its symplectic gradient. Either way a step is a pure function of the params.
//
// Tailoring modes. 'all' adapts the shared θ (one θ for the whole batch, as core's mode 'all'
// does). 'cn' is per-sequence tailoring of every weight, batched: `conditioning` gives each
// example zero offsets δθ_b of every weight and bias and the step uses θ + δθ_b, so one inner
// step on δ equals tailoring θ on each sequence alone (the net has no normalisation layers; the
// mode name is core's for "per-example parameters"). Core steps per-example variables at the inner
// lr itself whatever the batch size (it undoes the batch mean's 1/B), so this equals batch-size-1 tailoring at lr.
import { tf, nn, type Params, type Predictor, type State, type StepInput } from '@noether/core';

export type FieldKind = 'mlp' | 'hnn';

export const INTEGRATORS = ['euler', 'rk4'] as const;
export type Integrator = (typeof INTEGRATORS)[number];

/** One step of x' = f(x) over dt: explicit Euler x + f(x)·dt, or classic 4-stage Runge–Kutta. */
export function integrate(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dt: number, integrator: Integrator): tf.Tensor {
  // Tidy: only the new state survives (the stages and f's activations are freed), as for a tf op.
  return tf.tidy(() => {
    const k1 = f(x);
    if (integrator === 'euler') return tf.add(x, tf.mul(k1, dt));
    const k2 = f(tf.add(x, tf.mul(k1, dt / 2)));
    const k3 = f(tf.add(x, tf.mul(k2, dt / 2)));
    const k4 = f(tf.add(x, tf.mul(k3, dt)));
    return tf.add(x, tf.mul(tf.add(tf.add(k1, k4), tf.mul(tf.add(k2, k3), 2)), dt / 6));
  });
}

export interface VectorFieldOptions {
  /** Integration step Δt of one predicted step. */
  dt: number;
  /** Hidden width of both hidden layers (HNN: 200). */
  hidden: number;
  /** State dimension (2: q, p). */
  stateDim: number;
  activation: nn.Activation;
  /** How a predicted step integrates the field over dt (default 'euler', as our published runs). */
  integrator: Integrator;
}

export const DEFAULT_VECTOR_FIELD: Omit<VectorFieldOptions, 'dt'> = { hidden: 200, stateDim: 2, activation: 'tanh', integrator: 'euler' };

export class VectorFieldPredictor implements Predictor {
  readonly name: string;
  readonly tailor = 'all' as const;
  readonly tailorModes = ['all', 'cn'] as const;
  readonly contextLength = 1;
  readonly spec: nn.MlpSpec;
  readonly options: VectorFieldOptions;

  constructor(readonly kind: FieldKind, options: Partial<VectorFieldOptions> & { dt: number }) {
    this.options = { ...DEFAULT_VECTOR_FIELD, ...options };
    const { dt, hidden, stateDim, integrator } = this.options;
    if (!(dt > 0) || !Number.isFinite(dt)) throw new Error(`dt must be a positive number, got ${dt}`);
    if (!INTEGRATORS.includes(integrator)) throw new Error(`integrator must be one of ${INTEGRATORS.join(', ')}, got ${String(integrator)}`);
    if (!Number.isInteger(hidden) || hidden < 1) throw new Error(`hidden must be a positive integer, got ${hidden}`);
    if (kind === 'hnn' && stateDim % 2 !== 0) throw new Error(`an HNN needs an even state dimension (q, p pairs), got ${stateDim}`);
    this.name = kind;
    // The HNN net keeps stateDim outputs like the baseline and uses output 0 as H (as the HNN code does).
    this.spec = { sizes: [stateDim, hidden, hidden, stateDim], activation: this.options.activation, lastBias: false, init: 'orthogonal' };
  }

  init(seed: number): Params {
    return nn.initMlp(this.spec, seed);
  }

  /** Per-example weight offsets (zeros) `cn/<name>` of shape [B, ...shape], for mode 'cn'. */
  conditioning(params: Params, batchSize: number): Params {
    const out: Params = {};
    for (const [k, t] of Object.entries(params)) if (!k.startsWith('cn/')) out[`cn/${k}`] = tf.zeros([batchSize, ...t.shape]);
    return out;
  }

  /** The network's output [B, D]; with per-example offsets `cn/...` present, row b uses θ + δθ_b. */
  net(params: Params, x: tf.Tensor): tf.Tensor {
    if (!params['cn/l0/w']) return nn.mlp(this.spec, params, x);
    const n = this.spec.sizes.length - 1;
    let h = x;
    for (let i = 0; i < n; i++) {
      const w = params[`l${i}/w`]!;
      const dw = params[`cn/l${i}/w`]!;
      // x·(W + δW_b) without materialising W + δW_b per example.
      const own = tf.squeeze(tf.matMul(tf.expandDims(h, 1) as tf.Tensor3D, dw as tf.Tensor3D), [1]);
      h = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), own);
      const b = params[`l${i}/b`];
      if (b) h = tf.add(tf.add(h, b), params[`cn/l${i}/b`]!);
      if (i + 1 < n) h = nn.activate(this.spec.activation, h);
    }
    return h;
  }

  /** The scalar the HNN treats as its Hamiltonian, [B]. */
  hamiltonian(params: Params, x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.squeeze(tf.slice(this.net(params, x), [0, 0], [-1, 1]), [1]));
  }

  /** dx/dt at states x [B, D], differentiable w.r.t. params and x. */
  field(params: Params, x: tf.Tensor): tf.Tensor {
    // Tidy: the network's activations (and the HNN's ∂H/∂x) are freed; only the field survives.
    return tf.tidy(() => {
      if (this.kind === 'mlp') return this.net(params, x);
      // H summed over the batch: each row's gradient is that state's own ∂H/∂x (rows are independent).
      // tf.grads records on any enclosing tape, so the field stays differentiable w.r.t. θ.
      const [dH] = tf.grads((xx: tf.Tensor) => tf.sum(this.hamiltonian(params, xx)))([x]);
      const n = this.options.stateDim / 2;
      const dq = tf.slice(dH!, [0, 0], [-1, n]);
      const dp = tf.slice(dH!, [0, n], [-1, n]);
      // dq/dt = ∂H/∂p, dp/dt = −∂H/∂q
      return tf.concat([dp, tf.neg(dq)], 1);
    });
  }

  initState(_params: Params, context: tf.Tensor): State {
    const C = context.shape[1]!;
    return { obs: tf.reshape(tf.slice(context, [0, C - 1], [-1, 1]), [context.shape[0]!, this.options.stateDim]) };
  }

  step(params: Params, state: State, _input: StepInput): State {
    return { obs: integrate((x) => this.field(params, x), state.obs, this.options.dt, this.options.integrator) };
  }
}

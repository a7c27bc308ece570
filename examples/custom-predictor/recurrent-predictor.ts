// A third-party Noether predictor, written outside the Noether repo: it depends on
// @noether/core's public API (and zod, for its options) only. A recurrent state-space model
// for low-dimensional systems (the oscillator, spring, pendulum):
//
//   h_t, c_t = LSTM(x_{t−1}; h_{t−1}, c_{t−1})      x_t = x_{t−1} + dt · (W_o · CN(h_t) + b_o)
//
// with the LSTM state started from the last context observation, h_0 = tanh(W_i x_0 + b_i),
// c_0 = 0. It supports all three tailoring modes of the Predictor contract:
//   'all'    adapts the shared θ (every entry, or those `tailored` names: e.g. only the read-out);
//   'cn'     adapts per-example γ, β of a conditional normalisation of h_t (identity when absent);
//   'latent' adapts each example's initial LSTM state (h_0, c_0), carried in State.latent.
import { z } from 'zod';
import {
  tf, nn, Rng, TOKENS, validate, examples, GradientInnerOptimizer, metaStepAuditCase,
  type AuditCase, type DependencyContainer, type MetaSetup, type Params, type Predictor, type PredictorFactory, type State, type StepInput, type TailorMode,
} from '@noether/core';

export const RecurrentOptionsSchema = z.strictObject({
  /** Time between two observations, e.g. 3/29 for the spring's 30 samples over [0, 3]. */
  dt: z.number({ error: 'dt (time between two observations) must be a positive number, e.g. 0.1' }).positive(),
  hidden: z.int().positive().default(16),
  stateDim: z.int().positive().default(2),
  /** Default tailoring mode (a config's `noether.tailor` overrides it). */
  tailor: z.enum(['all', 'cn', 'latent']).default('latent'),
  /** Mode 'all' adapts only the θ entries whose names start with one of these (default: every entry). */
  tailored: z.array(z.string()).min(1).optional(),
});
export type RecurrentOptions = z.output<typeof RecurrentOptionsSchema>;

/** Per-example conditional-normalisation layer of h_t (params `cn/gamma`, `cn/beta` [B, hidden]). */
const CN = 'cn';
/** The LSTM state in State.latent: `lstm/h0`, `lstm/c0` [B, hidden] (core's nn naming, one layer). */
const LATENT = 'lstm';

export class RecurrentPredictor implements Predictor {
  readonly name = 'recurrent';
  readonly tailor: TailorMode;
  readonly tailorModes: readonly TailorMode[] = ['all', 'cn', 'latent'];
  readonly contextLength = 1;
  readonly options: RecurrentOptions;

  constructor(options: z.input<typeof RecurrentOptionsSchema>) {
    this.options = validate(RecurrentOptionsSchema, options, `predictor '${this.name}' options`, 'predictor');
    this.tailor = this.options.tailor;
  }

  init(seed: number): Params {
    const { hidden: H, stateDim: D } = this.options;
    const rng = new Rng(seed);
    // Small read-out weights: the untrained model starts close to "x stays put", a stable rollout.
    return {
      ...nn.initDense(rng, 'in', D, H, { init: { kind: 'fanIn' } }),
      ...nn.initLstmCell(rng, 'cell', D, H, { init: { kind: 'fanIn' } }),
      ...nn.initDense(rng, 'out', H, D, { init: { kind: 'normal', std: 0.1 } }),
    };
  }

  tailoredNames(params: Params): string[] {
    const prefixes = this.options.tailored;
    const names = Object.keys(params).filter((k) => !prefixes || prefixes.some((p) => k.startsWith(p)));
    if (!names.length) throw new Error(`predictor '${this.name}': tailored ${JSON.stringify(prefixes)} matches no parameter; it has ${Object.keys(params).join(', ')}`);
    return names;
  }

  conditioning(_params: Params, batchSize: number): Params {
    return nn.initConditionalNorm(CN, batchSize, this.options.hidden);
  }

  initState(params: Params, context: tf.Tensor): State {
    const B = context.shape[0]!;
    const x0 = tf.reshape(tf.slice(context, [0, context.shape[1]! - 1], [-1, 1]), [B, this.options.stateDim]);
    const h = tf.tanh(nn.dense(params, 'in', x0));
    // c_0 = 0 for every example; latent tailoring then gives each example its own.
    const c = tf.zeros([B, this.options.hidden]);
    return { obs: x0, latent: nn.lstmStateToParams(LATENT, { h: [h], c: [c] }) };
  }

  step(params: Params, state: State, _input: StepInput): State {
    if (!state.latent) throw new Error(`predictor '${this.name}': the state has no LSTM state (not made by initState)`);
    const s = nn.lstmStateFromParams(LATENT, state.latent, 1);
    const r = nn.lstmCell(params, 'cell', state.obs, s.h[0]!, s.c[0]!);
    // γ, β are in params only under 'cn' tailoring (core merges `conditioning` into θ); else identity.
    const h = nn.maybeConditionalNorm(params, CN, r.h);
    const obs = tf.add(state.obs, tf.mul(nn.dense(params, 'out', h), this.options.dt));
    // The next state must carry the latent on, or step t+1 would have none.
    return { obs, latent: nn.lstmStateToParams(LATENT, { h: [r.h], c: [r.c] }) };
  }
}

/** Register as a named factory, so configs can say `predictor: { type: recurrent, dt: 0.1 }`. */
export function register(container: DependencyContainer): void {
  const factory: PredictorFactory = {
    type: 'recurrent',
    description: 'LSTM state-space model x + dt·W·CN(h) (dt, hidden, stateDim, tailor, tailored); tailors all, cn or latent',
    create: (o) => new RecurrentPredictor(o as z.input<typeof RecurrentOptionsSchema>),
  };
  container.register(TOKENS.PredictorFactory, { useValue: factory });
}

/** Second-order audit entries, one per tailoring mode: a meta-gradient (w.r.t. θ and φ) through one
 * inner SGD step of a tiny instance, with core's example MLP embedding and oscillator data. Check them
 * with `auditSecondOrder(() => c.run())`: every kernel it reports must have a checked gradient. */
export function auditCases(): AuditCase[] {
  const data = examples.oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 4, seed: 4 });
  return (['all', 'cn', 'latent'] as const).map((mode) =>
    metaStepAuditCase(`custom-predictor/recurrent/${mode}`, () => {
      const predictor = new RecurrentPredictor({ dt: 0.1, hidden: 4, tailor: mode });
      const embedding = new examples.MlpEmbedding(2, 3, 1);
      const setup: MetaSetup = { predictor, embedding, mode: 'noether', inner: new GradientInnerOptimizer({ lr: 0.1 }), form: '2a', lrTheta: 1, lrPhi: 1 };
      return { setup, theta: predictor.init(1), phi: embedding.init(2), batch: data.gather('train', [0, 1, 2]) };
    }),
  );
}

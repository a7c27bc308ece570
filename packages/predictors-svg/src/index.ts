// @noether/predictors-svg — SVG-LP with conditional normalisation, and its deterministic
// action-conditioned variant, for Noether tailoring.
import { z } from 'zod';
import { TOKENS, validate, type DependencyContainer, type PredictorFactory } from '@noether/core';
import { SvgActionPredictor, SvgPredictor } from './svg.js';

export * from './svg.js';
export * from './networks.js';
export { auditCases, tinySvg, tinySvgAction, tinyEmbedding, tinyBatch, tinySetup, type AuditSetup } from './audit.js';

const pos = z.number().int().positive();
const commonShape = {
  arch: z.enum(['dcgan', 'vgg']).optional(),
  frameSize: pos.optional(),
  channels: pos.optional(),
  widths: z.array(pos).min(1).optional(),
  convsPerBlock: z.array(pos).min(1).optional(),
  gDim: pos.optional(),
  rnnSize: pos.optional(),
  predictorLayers: pos.optional(),
  norm: z.enum(['batch', 'group']).optional(),
  contextLength: pos.optional(),
  initStd: z.number().positive().optional(),
  activation: z.enum(['lrelu', 'elu']).optional(),
  skips: z.enum(['last-context', 'reference', 'every-step']).optional(),
};
export const svgOptionsSchema = z.object({
  ...commonShape,
  zDim: pos.optional(),
  priorLayers: pos.optional(),
  posteriorLayers: pos.optional(),
  beta: z.number().nonnegative().optional(),
  contextZ: z.enum(['mean', 'sample']).optional(),
  contextKl: z.boolean().optional(),
}).strict();
export const svgActionOptionsSchema = z.object({ ...commonShape, actionDim: pos.optional() }).strict();

/** Builds the predictor, turning architecture errors into option errors. */
function build<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new Error(`invalid ${what} options — ${(e as Error).message}`);
  }
}

export const svgFactory: PredictorFactory = {
  type: 'svg',
  description: 'SVG-LP (learned prior) video predictor with conditional normalisation; tailors CN γ/β by default',
  create: (options) => {
    const o = validate(svgOptionsSchema, options, "predictor 'svg' options", 'predictor');
    return build("predictor 'svg'", () => new SvgPredictor(o));
  },
};

export const svgActionFactory: PredictorFactory = {
  type: 'svg-action',
  description: 'Deterministic action-conditioned SVG (no prior); tailors the LSTM latent activations by default',
  create: (options) => {
    // SVG-LP's z options (zDim, β, contextZ, contextKl, …) mean nothing without a z: say so rather than "unknown field".
    const zOnly = Object.keys(options).filter((k) => k in svgOptionsSchema.shape && !(k in svgActionOptionsSchema.shape));
    if (zOnly.length) throw new Error(`invalid predictor 'svg-action' options: ${zOnly.map((k) => `predictor.${k}`).join(', ')} ${zOnly.length > 1 ? 'are options' : 'is an option'} of 'svg' (its stochastic z); 'svg-action' is deterministic and has no z: remove ${zOnly.length > 1 ? 'them' : 'it'}`);
    const o = validate(svgActionOptionsSchema, options, "predictor 'svg-action' options", 'predictor');
    return build("predictor 'svg-action'", () => new SvgActionPredictor(o));
  },
};

export function register(container: DependencyContainer): void {
  container.register(TOKENS.PredictorFactory, { useValue: svgFactory });
  container.register(TOKENS.PredictorFactory, { useValue: svgActionFactory });
}

// DI registration: factories 'mlp' and 'hnn' whose options are validated by zod, so a bad
// config names the field and what it should be.
import { TOKENS, nn, validate, type DependencyContainer, type PredictorFactory } from '@noether/core';
import { z } from 'zod';
import { VectorFieldPredictor, DEFAULT_VECTOR_FIELD, INTEGRATORS, type FieldKind } from './vector-field.js';

export const VectorFieldOptionsSchema = z.strictObject({
  type: z.string().optional(),
  dt: z.number({ error: 'dt (integration step per predicted step) must be a positive number, e.g. 0.1' }).positive(),
  hidden: z.int().positive().default(DEFAULT_VECTOR_FIELD.hidden),
  stateDim: z.int().positive().default(DEFAULT_VECTOR_FIELD.stateDim),
  activation: z.enum(nn.ACTIVATIONS).default(DEFAULT_VECTOR_FIELD.activation),
  integrator: z.enum(INTEGRATORS, { error: `integrator (how a step integrates the field over dt) must be one of ${INTEGRATORS.join(', ')}` }).default(DEFAULT_VECTOR_FIELD.integrator),
});

export type VectorFieldOptionsInput = z.input<typeof VectorFieldOptionsSchema>;

function factory(kind: FieldKind, description: string): PredictorFactory {
  return {
    type: kind,
    description,
    create: (options) => {
      const { type: _t, ...o } = validate(VectorFieldOptionsSchema, options, `predictor '${kind}' options`, 'predictor');
      return new VectorFieldPredictor(kind, o);
    },
  };
}

export const mlpFactory = factory('mlp', 'MLP vector field dx/dt (HNN baseline: 2→200→200→2 tanh), stepped by Euler x + f(x)·dt or RK4 (integrator)');
export const hnnFactory = factory('hnn', 'Hamiltonian NN: symplectic gradient of a learned H, stepped by Euler x + f(x)·dt or RK4 (integrator)');

export function register(container: DependencyContainer): void {
  container.register(TOKENS.PredictorFactory, { useValue: mlpFactory });
  container.register(TOKENS.PredictorFactory, { useValue: hnnFactory });
}

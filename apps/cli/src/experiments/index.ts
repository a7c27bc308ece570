// The built-in experiments, by name (`noether experiment NAME`). Add one: a file in this
// folder exporting a BuiltinExperiment, plus one line below.
import type { BuiltinExperiment } from './types.js';
import { toyOscillator } from './toy-oscillator.js';
import { gymPendulum } from './gym-pendulum.js';

export const experiments: Record<string, BuiltinExperiment> = {
  'toy-oscillator': toyOscillator,
  'gym-pendulum': gymPendulum,
};

export type { BuiltinExperiment, ExperimentContext, ExperimentOutcome } from './types.js';

// The built-in experiments, by name (`noether experiment NAME`). Add one: a file in this
// folder exporting a BuiltinExperiment, plus one line below.
import type { BuiltinExperiment } from './types.js';
import { toyOscillator } from './toy-oscillator.js';
import { gymPendulum } from './gym-pendulum.js';
import { physics101 } from './physics101.js';

export const experiments: Record<string, BuiltinExperiment> = {
  'toy-oscillator': toyOscillator,
  'gym-pendulum': gymPendulum,
  physics101,
};

export type { BuiltinExperiment, ExperimentContext, ExperimentOutcome } from './types.js';

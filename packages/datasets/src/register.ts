// DI registration: the HNN systems as dataset factories, so a config can say
// `dataset: { type: 'spring' }` (or 'pendulum') in any container this plugin is added to.
import { TOKENS, validate, type DatasetFactory, type DependencyContainer } from '@noether/core';
import { z } from 'zod';
import { PENDULUM, SPRING, generateHamiltonian, type HamiltonianSystem } from './hamiltonian.js';
import { trajectoryDataset } from './trajectories.js';

export const HamiltonianDatasetOptionsSchema = z.strictObject({
  type: z.string().optional(),
  trajectories: z.int().min(2).default(50),
  /** Leading trajectories in the train split (default: half). */
  trainCount: z.int().min(1).optional(),
  noise: z.number().min(0).default(0),
  seed: z.int().default(0),
});

function factory(system: HamiltonianSystem): DatasetFactory {
  return {
    type: system.name,
    description: `${system.name} trajectories as HNN generates them (options: trajectories, trainCount, noise, seed); predictors step them by dt = the sample spacing`,
    create: (options) => {
      const o = validate(HamiltonianDatasetOptionsSchema, options, `dataset '${system.name}' options`, 'dataset');
      if (o.trainCount !== undefined && o.trainCount >= o.trajectories) {
        throw new Error(`dataset '${system.name}': trainCount ${o.trainCount} leaves no test trajectory of ${o.trajectories}; lower it or raise trajectories`);
      }
      return trajectoryDataset(generateHamiltonian(system, { trajectories: o.trajectories, trainCount: o.trainCount, noiseStd: o.noise, seed: o.seed }));
    },
  };
}

export const hamiltonianDatasetFactories: DatasetFactory[] = [factory(SPRING), factory(PENDULUM)];

export function register(c: DependencyContainer): void {
  for (const f of hamiltonianDatasetFactories) c.register(TOKENS.DatasetFactory, { useValue: f });
}

// @noether/datasets — spring, pendulum, real pendulum, CSV trajectories, Gym
// pendulum pixels and Physics 101 ramp videos, plus PNG previews and file helpers.
export * from './ode.js';
export * from './trajectories.js';
export * from './hamiltonian.js';
export * from './real-pendulum.js';
export * from './csv.js';
export * from './gym-pendulum.js';
export * from './physics101.js';
export * from './preview.js';
export * from './prefetch.js';
export { atomicWriteFile, type AtomicWriteOptions } from './fs-util.js';
export { DataFileError } from './errors.js';
export * from './register.js';

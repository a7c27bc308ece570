export * from './init.js';
export * from './activations.js';
export * from './mlp.js';

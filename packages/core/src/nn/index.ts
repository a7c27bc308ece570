export * from './init.js';
export * from './activations.js';
export * from './mlp.js';
export * from './conv.js';
export * from './norm.js';
export * from './pool.js';
export * from './lstm.js';

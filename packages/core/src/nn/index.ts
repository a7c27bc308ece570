// Layers as plain compositions of tf ops over explicit parameter records. Like hand-composed tf
// ops they leave their intermediate activations to the enclosing tf.tidy: call them inside one
// (core always runs Predictor.step and Embedding.apply inside one); only the result is meant to outlive it.
export * from './init.js';
export * from './activations.js';
export * from './mlp.js';
export * from './conv.js';
export * from './norm.js';
export * from './pool.js';
export * from './lstm.js';

// @noether/predictors-mlp: state-space predictors of the HNN experiments (vanilla MLP vector field
// and Hamiltonian NN), their pre-training routine and DI registration.
export * from './vector-field.js';
export * from './pretrain.js';
export * from './register.js';
export { auditCases } from './audit.js';

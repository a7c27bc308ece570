// @noether/embeddings-symbolic: a unit-checked DSL of formulas that serve as Noether
// embeddings; enumerate all of them up to a size, fit and filter them on data (pure functions
// over shards, so apps/cli can spread the work over worker threads), rank the survivors.
export * from './units.js';
export * from './dsl.js';
export * from './enumerate.js';
export * from './parse.js';
export * from './program.js';
export * from './fit.js';
export * from './search.js';
export * from './tf-embedding.js';
export * from './tailoring.js';
export { auditCases } from './audit.js';
export * from './register.js';
export * from './unit-check.js';

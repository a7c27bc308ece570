// Per-timestep aggregation lives in core (evaluate() uses it); re-exported here
// so metric users find it beside the metrics.
export { TimestepAccumulator, MetricAccumulator, type TimestepStats, type BatchValues } from '@noether/core';

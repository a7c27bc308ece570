// What a built-in experiment is. Add one = a file in this folder + one line in index.ts.
import type { DependencyContainer, ExperimentConfig, ExperimentConfigInput, Plugin } from '@noether/core';
import type { Io } from '../cli/io.js';
import type { ResultRow, RunDir } from '../run/run-dir.js';
import type { Runner } from '../run/runner.js';
import type { ExtraMetrics, ResultTableSpec } from './table.js';

export interface ExperimentContext {
  io: Io;
  /** The fully resolved config (defaults, --config, --set applied; validated). */
  config: ExperimentConfig;
  runDir: RunDir;
  /** Plugins plus this experiment's `plugins`, for buildExperiment(container, config). */
  container: DependencyContainer;
  /** trainPhase / evaluatePhase / plotLoss, with checkpoints, resume, progress and metrics.csv. */
  runner: Runner;
  quick: boolean;
  log(line: string): void;
}

export interface ExperimentOutcome {
  /** The result table printed at the end and kept in result.json (one row per model). */
  table: ResultRow[];
  finalLoss: Record<string, number>;
  steps: Record<string, number>;
}

export interface BuiltinExperiment {
  description: string;
  /** Runs in seconds on a CPU (--quick); for smoke tests and demos. */
  quickConfig: ExperimentConfigInput;
  /** The real thing. */
  fullConfig: ExperimentConfigInput;
  /** Registers parts (predictor/embedding/dataset factories) the configs refer to. */
  plugins?: Plugin[];
  run(ctx: ExperimentContext): Promise<ExperimentOutcome>;
  /** The result table's rows for a run with this config. run() names its rows with it, and
   * `noether eval` labels an experiment run's rows (and adds its reference rows) the same way. */
  resultTable?(config: ExperimentConfig): ResultTableSpec;
  /** Metrics scored beyond the config's eval.metrics (physics101: LPIPS, where its weights are);
   * `noether eval` scores them too, so its columns are the experiment's. */
  extraMetrics?(io: Io): ExtraMetrics;
}

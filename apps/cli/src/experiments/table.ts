// How a built-in experiment names the rows of its result table. The experiment's run() builds its
// table with it, and `noether eval` labels an experiment run's rows with it too (and adds the same
// reference rows), so the two tables can be read side by side.
import type { EvalResult, Experiment, Metric } from '@noether/core';
import { modelsOf, type ModelCurves } from '../analyze/video.js';

/** How one checkpointed phase appears in the result table. */
export interface TablePhase {
  phase: string;
  /** The model's name; a tailoring phase's rows are `<label> (untailored)` and `<label> (tailored)`. */
  label: string;
  /** Two rows (untailored, tailored) when the phase tailors, else one row named `label`. */
  tailors: boolean;
  /** The untailored row's name, when not `<label> (untailored)`. */
  untailoredLabel?: string;
}

export interface ResultTableSpec {
  /** The phases, in the table's order. */
  phases: TablePhase[];
  /** Models without a checkpoint (e.g. copy last frame), scored on `exp`, an experiment of one of the
   * run's phases: every phase of a run has the same test data, horizon and eval settings. */
  references?(exp: Experiment): Promise<ModelCurves[]>;
}

/** Metrics an experiment scores beyond its config's eval.metrics (they need something from outside
 * the config, e.g. LPIPS weights), with what to tell the user about them. */
export interface ExtraMetrics {
  metrics: Metric[];
  /** Lines for the log (where the weights came from, or why a metric is skipped). */
  log: string[];
  /** Why a metric is missing, for the run's summary. */
  notes: string[];
  dispose(): void;
}

/** The models of the evaluated phases (`evs`, by phase), in the table's order; phases not in `evs` are left out. */
export function tableModels(spec: ResultTableSpec, evs: Record<string, EvalResult>): ModelCurves[] {
  return spec.phases.filter((p) => evs[p.phase]).flatMap((p) => modelsOf(p.label, evs[p.phase]!, p.tailors, p.untailoredLabel));
}

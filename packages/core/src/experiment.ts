// Composing an experiment: in code with defineExperiment(), or from a config
// with buildExperiment(container, config), which resolves plugins by `type`
// (or takes a Predictor/Embedding/InnerOptimizer/Dataset registered directly
// under its token, e.g. a user's own class in a child container).
import type { DependencyContainer } from 'tsyringe';
import type { Dataset, Embedding, InnerOptimizer, Metric, Predictor, TailorMode, TaskLoss } from './contracts.js';
import { TOKENS, findFactory } from './di.js';
import { ConfigError, parseConfig, testInnerConfig, type ExperimentConfig, type ExperimentConfigInput, type InnerConfig } from './config.js';
import { GradientInnerOptimizer } from './algorithm/inner.js';
import { tailorModeProblem } from './algorithm/tailor.js';
import { initMetaState, type MetaSetup, type MetaState } from './algorithm/meta.js';
import { deriveSeed } from './rng.js';
import { disposeParams } from './params.js';

export interface Experiment {
  config: ExperimentConfig;
  predictor: Predictor;
  embedding?: Embedding;
  dataset: Dataset;
  /** The meta-training setup (training-time inner loop). */
  setup: MetaSetup;
  /** The same with the test-time inner loop. */
  testSetup: MetaSetup;
  metrics: Metric[];
  /** A fresh training state: θ and φ initialised from the config seed. */
  initState(): MetaState;
}

function innerFrom(c: InnerConfig): GradientInnerOptimizer {
  return new GradientInnerOptimizer({ kind: c.optimizer, steps: c.steps, lr: c.lr, firstOrder: c.firstOrder });
}

export interface ExperimentParts {
  predictor: Predictor;
  embedding?: Embedding;
  dataset: Dataset;
  inner?: InnerOptimizer;
  testInner?: InnerOptimizer;
  taskLoss?: TaskLoss;
  metrics?: Metric[];
}

/** A ConfigError about one field, worded as validate() words each issue: "<field>: <problem and fix>". */
function fieldError(path: string, problem: string): ConfigError {
  return new ConfigError(`${path}: ${problem}`, [{ path, message: problem }]);
}

/** Refuses a tailoring mode the predictor does not support now, naming the choices, rather than at
 * the first training step (after a CLI run has made its folder). */
function checkTailorMode(p: Predictor, configured: TailorMode | undefined): void {
  const mode = configured ?? p.tailor;
  const where = configured ? 'noether.tailor' : 'predictor';
  const fix = configured ? 'set noether.tailor to one of them' : "its own default 'tailor' is not among them: fix the predictor, or set noether.tailor";
  const found = tailorModeProblem(p, mode);
  if (!found) return;
  const problem = p.tailorModes.includes(mode) ? found : `${found} (${fix})`;
  throw fieldError(where, problem);
}

/** Builds an experiment from parts and a (partial) config; the config is validated. */
export function defineExperiment(parts: ExperimentParts, config: Omit<ExperimentConfigInput, 'predictor' | 'dataset'> & Partial<Pick<ExperimentConfigInput, 'predictor' | 'dataset'>> = {}): Experiment {
  const cfg = parseConfig({
    predictor: { type: parts.predictor.name },
    dataset: { type: parts.dataset.name },
    ...(parts.embedding && !config.embedding ? { embedding: { type: parts.embedding.name } } : {}),
    ...config,
  });
  // Metric names resolve through registered plugins (buildExperiment); here they would be dropped.
  if ((config.eval as { metrics?: unknown } | undefined)?.metrics !== undefined && !parts.metrics) {
    throw fieldError(
      'eval.metrics',
      'defineExperiment cannot look metrics up by name: pass the Metric objects as parts.metrics (e.g. mseMetric from @noether/metrics), or build from a config with buildExperiment(container, config)',
    );
  }
  if (cfg.mode !== 'baseline' && !parts.embedding) {
    throw fieldError('embedding', `mode '${cfg.mode}' tailors with an embedding, and none was given: give one (or use mode 'baseline')`);
  }
  if (cfg.mode !== 'baseline') checkTailorMode(parts.predictor, cfg.noether.tailor);
  if (cfg.mode === 'oracle' && parts.embedding) {
    // An oracle is a known conserved quantity: φ = {}. An embedding with parameters would read none.
    const phi = parts.embedding.init(0);
    const names = Object.keys(phi);
    disposeParams(phi);
    if (names.length) {
      throw fieldError(
        'mode',
        `mode 'oracle' tailors with a fixed, known embedding (no parameters), but embedding '${parts.embedding.name}' has ${names.length} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}): use mode 'noether' to learn them, or an embedding without parameters`,
      );
    }
  }
  const inner = parts.inner ?? innerFrom(cfg.inner);
  const testInner = parts.testInner ?? (cfg.testInner ? innerFrom(testInnerConfig(cfg)) : inner);
  const setup: MetaSetup = {
    predictor: parts.predictor,
    embedding: parts.embedding,
    mode: cfg.mode,
    inner,
    form: cfg.noether.form,
    tailorMode: cfg.noether.tailor,
    taskLoss: parts.taskLoss,
    contextLength: cfg.contextLength,
    horizon: cfg.horizon,
    teacherForcing: cfg.teacherForcing,
    lrTheta: cfg.outer.lrTheta,
    lrPhi: cfg.outer.lrPhi,
    beta1: cfg.outer.beta1,
    beta2: cfg.outer.beta2,
    weightDecay: cfg.outer.weightDecay,
    clipTheta: cfg.outer.clipTheta,
    clipPhi: cfg.outer.clipPhi,
  };
  const testSetup: MetaSetup = { ...setup, inner: testInner, teacherForcing: false };
  return {
    config: cfg,
    predictor: parts.predictor,
    embedding: parts.embedding,
    dataset: parts.dataset,
    setup,
    testSetup,
    metrics: parts.metrics ?? [],
    initState: () =>
      initMetaState(
        setup,
        parts.predictor.init(deriveSeed(cfg.seed, 'theta')),
        parts.embedding && cfg.mode === 'noether' ? parts.embedding.init(deriveSeed(cfg.seed, 'phi')) : {},
      ),
  };
}

function optionsOf(ref: { type: string } & Record<string, unknown>): Record<string, unknown> {
  const { type: _type, ...rest } = ref;
  return rest;
}

/**
 * Builds an experiment from a validated config, resolving each part from the container:
 * a factory registered for the config's `type`, or else an instance registered directly
 * under the part's token.
 */
export async function buildExperiment(container: DependencyContainer, raw: unknown, source = 'config'): Promise<Experiment> {
  const cfg = parseConfig(raw, source);
  const direct = <T>(token: symbol): T | undefined => (container.isRegistered(token, true) ? container.resolve<T>(token) : undefined);
  const pick = <T>(token: symbol, factoryToken: symbol, ref: { type: string } | undefined, what: string): T | undefined => {
    if (!ref) return direct<T>(token);
    const d = direct<T & { name?: string }>(token);
    if (d && d.name === ref.type) return d;
    return findFactory<T>(container, factoryToken, ref.type, what).create(optionsOf(ref as { type: string }));
  };
  const predictor = pick<Predictor>(TOKENS.Predictor, TOKENS.PredictorFactory, cfg.predictor, 'predictor')!;
  const embedding = pick<Embedding>(TOKENS.Embedding, TOKENS.EmbeddingFactory, cfg.embedding, 'embedding');
  const dataset = await pick<Dataset | Promise<Dataset>>(TOKENS.Dataset, TOKENS.DatasetFactory, cfg.dataset, 'dataset')!;
  const metrics = cfg.eval.metrics.map((m) =>
    typeof m === 'string'
      ? findFactory<Metric>(container, TOKENS.MetricFactory, m, 'metric').create({})
      : findFactory<Metric>(container, TOKENS.MetricFactory, m.type, 'metric').create(optionsOf(m)),
  );
  return defineExperiment(
    {
      predictor,
      embedding,
      dataset,
      inner: direct<InnerOptimizer>(TOKENS.InnerOptimizer),
      taskLoss: direct<TaskLoss>(TOKENS.TaskLoss),
      metrics,
    },
    cfg,
  );
}

// Dependency-injection tokens. A plugin exports `register(container)` that registers
// factories under the *Factory tokens; an experiment resolves a single Predictor /
// Embedding / InnerOptimizer / Dataset by token, or builds one from a config `type`.
import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { Dataset, Embedding, Factory, InnerOptimizer, Metric, Predictor, TaskLoss } from './contracts.js';

export const TOKENS = {
  Predictor: Symbol.for('noether.Predictor'),
  Embedding: Symbol.for('noether.Embedding'),
  InnerOptimizer: Symbol.for('noether.InnerOptimizer'),
  Dataset: Symbol.for('noether.Dataset'),
  TaskLoss: Symbol.for('noether.TaskLoss'),
  Metric: Symbol.for('noether.Metric'),
  PredictorFactory: Symbol.for('noether.PredictorFactory'),
  EmbeddingFactory: Symbol.for('noether.EmbeddingFactory'),
  DatasetFactory: Symbol.for('noether.DatasetFactory'),
  MetricFactory: Symbol.for('noether.MetricFactory'),
} as const;

export type PredictorFactory = Factory<Predictor>;
export type EmbeddingFactory = Factory<Embedding>;
export type DatasetFactory = Factory<Dataset | Promise<Dataset>>;
export type MetricFactory = Factory<Metric>;
export type { DependencyContainer };

/** What a plugin package exports. */
export type Plugin = (container: DependencyContainer) => void;

export function createContainer(...plugins: Plugin[]): DependencyContainer {
  const c = rootContainer.createChildContainer();
  for (const p of plugins) p(c);
  return c;
}

function factories<T>(c: DependencyContainer, token: symbol): Factory<T>[] {
  return c.isRegistered(token, true) ? c.resolveAll<Factory<T>>(token) : [];
}

/** The factory registered under token with this type; a clear error lists the known ones. */
export function findFactory<T>(c: DependencyContainer, token: symbol, type: string, what: string): Factory<T> {
  const all = factories<T>(c, token);
  const f = all.find((x) => x.type === type);
  if (!f) {
    const known = all.map((x) => x.type).sort();
    throw new Error(
      `unknown ${what} type '${type}'; registered: ${known.length ? known.join(', ') : '(none — register a plugin)'}`,
    );
  }
  return f;
}

export function listFactories(c: DependencyContainer, token: symbol): { type: string; description: string }[] {
  return factories<unknown>(c, token).map((f) => ({ type: f.type, description: f.description }));
}

export type { Dataset, Embedding, InnerOptimizer, Metric, Predictor, TaskLoss };

// @noether/embeddings-cnn — the paper's CNN conservation embedding over frame pairs.
import { z } from 'zod';
import { TOKENS, type DependencyContainer, type EmbeddingFactory } from '@noether/core';
import { CnnEmbedding } from './embedding.js';

export * from './embedding.js';
export { auditCases } from './audit.js';

const pos = z.number().int().positive();
export const cnnEmbeddingOptionsSchema = z.object({
  dim: pos.optional(),
  height: pos.optional(),
  width: pos.optional(),
  channels: pos.optional(),
  filters: z.tuple([pos, pos]).optional(),
  kernel: pos.optional(),
}).strict();

/** Validates factory options; errors name the offending field. */
export function parseOptions<T>(schema: z.ZodType<T>, options: unknown, what: string): T {
  const r = schema.safeParse(options);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new Error(`invalid ${what} options — ${issues.join('; ')}`);
}

export const cnnEmbeddingFactory: EmbeddingFactory = {
  type: 'cnn',
  description: 'CNN over two stacked frames: Conv5×5(32)-ReLU-MaxPool, Conv5×5(64)-ReLU-MaxPool, FC to dim (paper: 64)',
  create: (options) => new CnnEmbedding(parseOptions(cnnEmbeddingOptionsSchema, options, "embedding 'cnn'")),
};

export function register(container: DependencyContainer): void {
  container.register(TOKENS.EmbeddingFactory, { useValue: cnnEmbeddingFactory });
}

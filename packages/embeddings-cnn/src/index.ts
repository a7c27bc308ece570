// @noether/embeddings-cnn — the paper's CNN conservation embedding over frame pairs.
import { z } from 'zod';
import { TOKENS, validate, type DependencyContainer, type EmbeddingFactory } from '@noether/core';
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

export const cnnEmbeddingFactory: EmbeddingFactory = {
  type: 'cnn',
  description: 'CNN over two stacked frames: Conv5×5(32)-ReLU-MaxPool, Conv5×5(64)-ReLU-MaxPool, FC to dim (paper: 64)',
  create: (options) => new CnnEmbedding(validate(cnnEmbeddingOptionsSchema, options, "embedding 'cnn' options", 'embedding')),
};

export function register(container: DependencyContainer): void {
  container.register(TOKENS.EmbeddingFactory, { useValue: cnnEmbeddingFactory });
}

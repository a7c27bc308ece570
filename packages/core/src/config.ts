// Experiment configuration: one zod schema is the source of truth; the types are
// inferred from it. Plugin options ride along under `predictor`, `embedding`,
// `dataset` and are validated by each plugin's own factory schema.
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';

const pluginRef = (what: string) =>
  z.looseObject({ type: z.string({ error: `${what}.type must name a registered ${what} (e.g. "mlp")` }) });

const innerFields = {
  optimizer: z.enum(['sgd', 'adam', 'nsgd']),
  steps: z.int().min(0),
  lr: z.number().positive(),
  firstOrder: z.boolean(),
};

export const InnerConfigSchema = z.strictObject({
  optimizer: innerFields.optimizer.default('sgd'),
  steps: innerFields.steps.default(1),
  lr: innerFields.lr.default(1e-3),
  firstOrder: innerFields.firstOrder.default(false),
});

export const ExperimentConfigSchema = z.strictObject({
  name: z.string().min(1).default('experiment'),
  seed: z.int().default(0),
  /** noether: learn φ and tailor; baseline: no tailoring; oracle: tailor with a fixed, given conservation function. */
  mode: z.enum(['noether', 'baseline', 'oracle']).default('noether'),
  predictor: pluginRef('predictor'),
  embedding: pluginRef('embedding').optional(),
  dataset: pluginRef('dataset'),
  noether: z.strictObject({
    form: z.enum(['2a', '2b']).default('2a'),
    tailor: z.enum(['all', 'cn', 'latent']).optional(),
  }).prefault({}),
  /** Inner loop while meta-training (one SGD step in the paper). */
  inner: InnerConfigSchema.prefault({}),
  /** Inner loop at test time (defaults to the training one); e.g. many Adam steps. */
  // No defaults here: each field given overrides `inner`'s, the rest are `inner`'s (zod's .partial()
  // of InnerConfigSchema would fill the defaults in, silently resetting e.g. the optimiser).
  testInner: z.strictObject(innerFields).partial().optional(),
  outer: z.strictObject({
    epochs: z.int().min(0).default(10),
    batchSize: z.int().positive().default(16),
    lrTheta: z.number().min(0).default(1e-3),
    lrPhi: z.number().min(0).default(1e-3),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    weightDecay: z.number().min(0).default(0),
    clipTheta: z.number().positive().optional(),
    clipPhi: z.number().positive().optional(),
  }).prefault({}),
  contextLength: z.int().positive().optional(),
  horizon: z.int().positive().optional(),
  teacherForcing: z.boolean().default(false),
  eval: z.strictObject({
    batchSize: z.int().positive().default(16),
    /** Metric names, or { type, ...options } for a metric with options (e.g. an SSIM's window). */
    metrics: z.array(z.union([z.string(), pluginRef('metric')])).default(['mse']),
    maxBatches: z.int().positive().optional(),
  }).prefault({}),
}).superRefine((c, ctx) => {
  // φ acts on the task loss only through the inner gradient; first-order tailoring cuts exactly that.
  if (c.mode === 'noether' && c.inner.firstOrder && c.outer.lrPhi > 0 && c.inner.steps > 0) {
    ctx.addIssue({
      code: 'custom', path: ['inner', 'firstOrder'],
      message: "first-order tailoring leaves φ a meta-gradient of exactly 0 (φ reaches the task loss only through the inner gradient), so the embedding would never learn: set it to false, or use mode 'oracle' (a fixed embedding) to train θ first-order",
    });
  }
});

export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
export type InnerConfig = z.infer<typeof InnerConfigSchema>;

/** A config (or file) that failed validation; the message names each bad field. */
export class ConfigError extends Error {
  constructor(message: string, readonly issues: { path: string; message: string }[] = []) {
    super(message);
    this.name = 'ConfigError';
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** Validates raw input against a schema; errors name `source`, each field path and what was expected. */
export function validate<S extends z.ZodType>(schema: S, raw: unknown, source: string, prefix = ''): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const p = pathOf([...(prefix ? [prefix] : []), ...i.path]);
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}: remove or fix the spelling`;
    return { path: p || '(root)', message: msg };
  });
  throw new ConfigError(`invalid ${source}: ` + issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

export function parseConfig(raw: unknown, source = 'config'): ExperimentConfig {
  return validate(ExperimentConfigSchema, raw, source);
}

/** Parses JSON or YAML text (by file name, else by content). */
export function parseConfigText(text: string, source = 'config'): unknown {
  const json = /\.json$/i.test(source) || (!/\.ya?ml$/i.test(source) && /^\s*[{[]/.test(text));
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`cannot parse ${source} as ${json ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
}

/** Sets a dotted path (e.g. "outer.lrPhi") in a plain object, parsing the value as JSON when it can. */
export function setPath(obj: Record<string, unknown>, path: string, value: string | unknown): void {
  const keys = path.split('.');
  let cur: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  let v = value;
  if (typeof value === 'string') {
    try {
      v = JSON.parse(value);
    } catch {
      v = value;
    }
  }
  cur[keys[keys.length - 1]!] = v;
}

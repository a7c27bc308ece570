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

/** The inner loop used at test time: `inner` with the fields `testInner` overrides. */
export function testInnerConfig(c: ExperimentConfig): InnerConfig {
  return c.testInner ? { ...c.inner, ...c.testInner } : c.inner;
}

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

// zod 4 keeps each schema's definition on `_zod.def`; these wrappers change no field names.
type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** The field names of the object schema at `path` inside `schema` (undefined where it is not one object). */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const unwrap = (s: z.ZodType | undefined): z.ZodType | undefined => {
    while (s) {
      const d = defOf(s);
      if (WRAPPERS.has(d.type)) s = d.innerType;
      else if (d.type === 'pipe') s = d.in;
      else break;
    }
    return s;
  };
  let s = unwrap(schema);
  for (const k of path) {
    const d = s && defOf(s);
    s = unwrap(d?.type === 'object' && typeof k === 'string' ? d.shape![k] : d?.type === 'array' && typeof k === 'number' ? d.element : undefined);
  }
  const d = s && defOf(s);
  return d?.type === 'object' ? Object.keys(d.shape!) : undefined;
}

/** Edit distance (case-insensitive; a swap of neighbours counts once), for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** "unknown field(s) …", with the closest known name for each typo and the fields that exist there. */
function unknownFieldsMessage(keys: readonly string[], known: readonly string[] | undefined): string {
  const named = keys.map((k) => {
    const best = known?.map((f) => ({ f, d: distance(k, f) })).sort((x, y) => x.d - y.d)[0];
    return best && best.d <= Math.max(1, Math.floor(k.length / 3)) ? `'${k}' (did you mean '${best.f}'?)` : `'${k}'`;
  });
  return `unknown field(s) ${named.join(', ')}: remove or fix the spelling${known?.length ? ` (fields here: ${known.join(', ')})` : ''}`;
}

/** Validates raw input against a schema; errors name `source`, each field path and what was expected. */
export function validate<S extends z.ZodType>(schema: S, raw: unknown, source: string, prefix = ''): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const p = pathOf([...(prefix ? [prefix] : []), ...i.path]);
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = unknownFieldsMessage(i.keys, fieldsAt(schema, i.path));
    return { path: p || '(root)', message: msg };
  });
  throw new ConfigError(`invalid ${source}: ` + issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

export function parseConfig(raw: unknown, source = 'config'): ExperimentConfig {
  return validate(ExperimentConfigSchema, raw, source);
}

/** Parses JSON or YAML text (by file name, else by content). A syntax error is one line naming where. */
export function parseConfigText(text: string, source = 'config'): unknown {
  const json = /\.json$/i.test(source) || (!/\.ya?ml$/i.test(source) && /^\s*[{[]/.test(text));
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    // yaml's message goes on with a code frame over several lines; its first line has the line and column.
    let msg = (e as Error).message.split('\n')[0]!.replace(/:$/, '');
    // Node < 22's JSON.parse gives only an offset: say which line and column that is.
    const at = /at position (\d+)$/.exec(msg);
    if (json && at) {
      const before = text.slice(0, Number(at[1])).split('\n');
      msg += ` (line ${before.length}, column ${before[before.length - 1]!.length + 1})`;
    }
    throw new ConfigError(`cannot parse ${source} as ${json ? 'JSON' : 'YAML'}: ${msg}`);
  }
}

// Names that reach Object.prototype rather than a field of the config.
const NOT_FIELDS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Sets a dotted path (e.g. "outer.lrPhi", or "eval.metrics.1" for an element of a list) in a plain
 * object, parsing the value as JSON when it can; missing groups are created. A path with an empty
 * part, through a value that holds no fields, or past the end of a list is a ConfigError.
 */
export function setPath(obj: Record<string, unknown>, path: string, value: string | unknown): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || NOT_FIELDS.has(k))) {
    throw new ConfigError(`'${path}' is not a field path: give field names joined by dots, e.g. outer.lrPhi`);
  }
  let v = value;
  if (typeof value === 'string') {
    try {
      v = JSON.parse(value);
    } catch {
      v = value;
    }
  }
  let cur: Record<string, unknown> | unknown[] = obj;
  keys.forEach((k, i) => {
    const at = keys.slice(0, i).join('.');
    if (Array.isArray(cur) && !(/^\d+$/.test(k) && Number(k) <= cur.length)) {
      throw new ConfigError(`'${path}': ${at} is a list of ${cur.length}; index it by position (${at}.0 … ${at}.${cur.length}, the last one appends), or set the whole list with ${at}=[...]`);
    }
    const c = cur as Record<string, unknown>;
    if (i === keys.length - 1) {
      c[k] = v;
      return;
    }
    const next = Object.hasOwn(c, k) ? c[k] : undefined; // not an inherited 'toString'
    if (next === undefined || next === null) c[k] = {};
    else if (typeof next !== 'object') {
      const here = keys.slice(0, i + 1).join('.');
      throw new ConfigError(`'${path}': ${here} is ${JSON.stringify(next)}, which has no fields: set ${here} itself`);
    }
    cur = c[k] as Record<string, unknown> | unknown[];
  });
}

// Rebuilds each reference meta-learning problem of shared/golden/second-order from its `spec`
// text with tfjs ops and differentiates through one SGD tailoring step (tf.grads inside
// tf.valueAndGrads: one tape serves both levels). A spec no builder knows is an error, never a pass.
import { tf } from '../../src/tf.js';

type T = tf.Tensor;
export type Tensors = Record<string, T>;

export interface GoldenFile {
  spec: string;
  lr: number;
  T?: number;
  adapted?: string[];
  inputs: Record<string, unknown>;
  params: Record<string, unknown>;
  expected: { inner: number; outer: number; grads: Record<string, unknown> };
}

export interface MetaResult {
  inner: number;
  outer: number;
  grads: Record<string, { values: Float32Array; shape: number[] }>;
}

type Builder = (g: GoldenFile, file: string, inputs: Tensors, params: Tensors) => MetaResult;

/** Activations of the mlp_<act> cases, as the spec defines them. */
export const ACTIVATIONS: Record<string, (z: T) => T> = {
  tanh: (z) => tf.tanh(z),
  sigmoid: (z) => tf.sigmoid(z),
  exp: (z) => tf.exp(tf.mul(z, 0.5)),
  elu: (z) => tf.elu(z),
  softplus: (z) => tf.softplus(z),
  relu: (z) => tf.relu(z),
  sin: (z) => tf.sin(z),
  square: (z) => tf.mul(z, z),
  sqrt: (z) => tf.sqrt(tf.add(tf.mul(z, z), 1)),
  // Not in the shipped set; for other case sets of the same form (torch's definitions).
  cos: (z) => tf.cos(z),
  silu: (z) => tf.mul(z, tf.sigmoid(z)),
  swish: (z) => tf.mul(z, tf.sigmoid(z)),
  softsign: (z) => tf.div(z, tf.add(tf.abs(z), 1)),
  leaky_relu: (z) => tf.leakyRelu(z, 0.01),
  selu: (z) => tf.selu(z),
  linear: (z) => z,
  identity: (z) => z,
  abs: (z) => tf.abs(z),
  gelu: (z) => tf.mul(tf.mul(z, 0.5), tf.add(tf.erf(tf.mul(z, Math.SQRT1_2)), 1)), // torch's default (erf) form
  gelu_tanh: (z) => tf.mul(tf.mul(z, 0.5), tf.add(tf.tanh(tf.mul(tf.add(z, tf.mul(tf.pow(z, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1)),
  mish: (z) => tf.mul(z, tf.tanh(tf.softplus(z))),
  hardtanh: (z) => tf.clipByValue(z, -1, 1),
  relu6: (z) => tf.relu6(z),
  hardsigmoid: (z) => tf.div(tf.relu6(tf.add(z, 3)), 6),
  hardswish: (z) => tf.mul(z, tf.div(tf.relu6(tf.add(z, 3)), 6)),
  logsigmoid: (z) => tf.logSigmoid(z),
  tanhshrink: (z) => tf.sub(z, tf.tanh(z)),
  celu: (z) => tf.elu(z), // alpha = 1
  atan: (z) => tf.atan(z),
  sinh: (z) => tf.sinh(z),
  cosh: (z) => tf.cosh(z),
  erf: (z) => tf.erf(z),
};

// The spec texts each builder implements, with the varying part replaced by a placeholder.
const MLP_SPEC =
  "f(x)=act(x@W1+b1)@W2+b2; g(z)=act(z@P1)@P2; act=<ACT> (exp means exp(0.5z), sqrt means sqrt(z*z+1), square means z*z); inner=mean_over_rows(sum_cols((g(f(x))-g(x))^2)); theta'=theta-lr*d inner/d theta for theta in W1,b1,W2,b2; outer=mean((f_theta'(x)-y)^2) over all elements; expected = d outer / d every tensor in params (theta and phi).";
const CONV_SPEC =
  "NHWC images, filters [kh,kw,in,out]. f(x)=sigmoid(conv_same(relu(conv_same(x,K1)*gamma+beta),K2)+x); g(x)=reshape(tanh(conv(x,E1,stride2,valid)),[B,36])@E2; rollout x_t=f(x_{t-1}) for t=1..T from x0; inner=sum_t mean_over_batch(sum((g(x0)-g(x_t))^2)); tailor <LIST> by one SGD step of size lr; outer=sum_t mean((x'_t-ys[t])^2) with the tailored rollout x'_t; expected = d outer / d every tensor in params.";
const LSTM_SPEC =
  "LSTM cell, z=x@Wx+h@Wh+b split into 4 equal column blocks in order (i,f,o,u); c=sig(f)*c+sig(i)*tanh(u); h=sig(o)*tanh(c); x_t=x_{t-1}+h_t@Wo; h and c start at zeros; g(x)=tanh(x@P). inner=sum_t mean_over_batch(sum((g(x_{t-1})-g(x_t))^2)) (Noether loss 2(b)); tailor only the initial hidden state h0 (zeros) by one SGD step of size lr: h0'=-lr*d inner/d h0; outer=sum_t mean((x'_t-ys[t])^2) with the rollout from h0'; expected = d outer / d every tensor in params.";

/** d outer/d params of `outer(params, innerValue => ...)`, differentiating through the inner grads. */
function metaGrads(params: Tensors, outerOf: (p: Tensors, setInner: (v: T) => void) => T): MetaResult {
  const names = Object.keys(params);
  let inner = NaN;
  const { value, grads } = tf.valueAndGrads((...ts: T[]) => {
    const p = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
    return outerOf(p, (v) => {
      inner = v.dataSync()[0]!;
    }) as tf.Scalar;
  })(names.map((n) => params[n]!));
  const out: MetaResult = { inner, outer: value.dataSync()[0]!, grads: {} };
  names.forEach((n, i) => {
    out.grads[n] = { values: grads[i]!.dataSync() as Float32Array, shape: grads[i]!.shape };
  });
  return out;
}

/** theta - lr * d loss/d theta for the named entries (others passed through). */
function sgdStep(p: Tensors, names: string[], lr: number, loss: (q: Tensors) => T, setInner: (v: T) => void): Tensors {
  const { value, grads } = tf.valueAndGrads((...ts: T[]) => {
    const q = { ...p };
    names.forEach((n, i) => (q[n] = ts[i]!));
    return loss(q) as tf.Scalar;
  })(names.map((n) => p[n]!));
  setInner(value);
  const q = { ...p };
  names.forEach((n, i) => (q[n] = tf.sub(p[n]!, tf.mul(lr, grads[i]!))));
  return q;
}

const buildMlp =
  (act: (z: T) => T): Builder =>
  (g, _file, inp, params) => {
    const x = inp['x']!;
    const y = inp['y']!;
    const f = (p: Tensors, v: T) => tf.add(tf.matMul(act(tf.add(tf.matMul(v, p['W1']!), p['b1']!)), p['W2']!), p['b2']!);
    const emb = (p: Tensors, z: T) => tf.matMul(act(tf.matMul(z, p['P1']!)), p['P2']!);
    const inner = (p: Tensors) => tf.mean(tf.sum(tf.square(tf.sub(emb(p, f(p, x)), emb(p, x))), 1));
    return metaGrads(params, (p, setInner) => {
      const q = sgdStep(p, ['W1', 'b1', 'W2', 'b2'], g.lr, inner, setInner);
      return tf.mean(tf.square(tf.sub(f(q, x), y)));
    });
  };

const buildConv =
  (adapted: string[], stride: number, pad: 'valid' | 'same'): Builder =>
  (g, file, inp, params) => {
    if (g.T == null) throw new Error(`${file}: conv case needs field T`);
    const steps = g.T;
    const x0 = inp['x0'] as tf.Tensor4D;
    const ys = inp['ys']!;
    const f = (p: Tensors, v: T) => {
      const h = tf.relu(tf.add(tf.mul(tf.conv2d(v as tf.Tensor4D, p['K1'] as tf.Tensor4D, 1, 'same'), p['gamma']!), p['beta']!));
      return tf.sigmoid(tf.add(tf.conv2d(h as tf.Tensor4D, p['K2'] as tf.Tensor4D, 1, 'same'), v));
    };
    const emb = (p: Tensors, v: T) =>
      tf.matMul(tf.reshape(tf.tanh(tf.conv2d(v as tf.Tensor4D, p['E1'] as tf.Tensor4D, stride, pad)), [v.shape[0]!, -1]), p['E2']!);
    const rollout = (p: Tensors) => {
      const xs: T[] = [];
      let v: T = x0;
      for (let t = 0; t < steps; t++) xs.push((v = f(p, v)));
      return xs;
    };
    const inner = (p: Tensors) => {
      const e0 = emb(p, x0);
      return tf.addN(rollout(p).map((xt) => tf.mean(tf.sum(tf.square(tf.sub(e0, emb(p, xt))), 1))));
    };
    return metaGrads(params, (p, setInner) => {
      const q = sgdStep(p, adapted, g.lr, inner, setInner);
      // ys[t] is the target of x_{t+1} (ys holds T frames for t = 1..T).
      return tf.addN(rollout(q).map((xt, t) => tf.mean(tf.square(tf.sub(xt, tf.gather(ys, t))))));
    });
  };

const buildLstm: Builder = (g, file, inp, params) => {
  if (g.T == null) throw new Error(`${file}: lstm case needs field T`);
  const steps = g.T;
  const x0 = inp['x0']!;
  const ys = inp['ys']!;
  const hidden = (params['Wh'] as T).shape[0]!;
  const rollout = (p: Tensors, h0: T) => {
    let h = h0;
    let c = tf.zerosLike(h0);
    let x = x0;
    const xs: T[] = [x0];
    for (let t = 0; t < steps; t++) {
      const z = tf.add(tf.add(tf.matMul(x, p['Wx']!), tf.matMul(h, p['Wh']!)), p['b']!);
      const [i, fg, o, u] = tf.split(z, 4, 1) as [T, T, T, T];
      c = tf.add(tf.mul(tf.sigmoid(fg), c), tf.mul(tf.sigmoid(i), tf.tanh(u)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      x = tf.add(x, tf.matMul(h, p['Wo']!));
      xs.push(x);
    }
    return xs;
  };
  const emb = (p: Tensors, v: T) => tf.tanh(tf.matMul(v, p['P']!));
  return metaGrads(params, (p, setInner) => {
    const h0 = tf.zeros([x0.shape[0]!, hidden]);
    const inner = (q: Tensors) => {
      const xs = rollout(q, q['h0']!);
      const terms: T[] = [];
      for (let t = 1; t < xs.length; t++) terms.push(tf.mean(tf.sum(tf.square(tf.sub(emb(q, xs[t - 1]!), emb(q, xs[t]!))), 1)));
      return tf.addN(terms);
    };
    const q = sgdStep({ ...p, h0 }, ['h0'], g.lr, inner, setInner);
    const xs = rollout(p, q['h0']!);
    return tf.addN(xs.slice(1).map((xt, t) => tf.mean(tf.square(tf.sub(xt, tf.gather(ys, t))))));
  });
};

/** The builder for a golden file, or an error saying why none fits. */
/** A spec with its case-specific parts (activation and its note, tailored list, flattened size)
 * replaced by placeholders, so cases of the same form with other values use the same builder. */
function normalise(spec: string): string {
  return spec
    .replace(/act=(?:[a-z0-9_]+|<ACT>)(?: \((?:[^()]|\([^()]*\))*\))?/, 'act=<ACT>')
    .replace(/tailor \[[^\]]*\]/, 'tailor <LIST>')
    .replace(/\[B,\d+\]/g, '[B,<N>]')
    .replace(/conv\(x,E1,stride\d+,(?:valid|same)\)/, 'conv(x,E1,stride<S>,<PAD>)');
}

export function builderFor(g: GoldenFile, file: string): Builder {
  const spec = g.spec ?? '';
  const act = /act=([a-z0-9_]+)/.exec(spec)?.[1] ?? /^mlp_([a-z0-9_]+)\.json$/.exec(file)?.[1];
  if (act && normalise(spec) === normalise(MLP_SPEC)) {
    const fn = ACTIVATIONS[act];
    if (!fn) throw new Error(`${file}: unknown activation '${act}' (known: ${Object.keys(ACTIVATIONS).join(', ')})`);
    return buildMlp(fn);
  }
  const list = /tailor (\[[^\]]*\])/.exec(spec)?.[1];
  if (list && normalise(spec) === normalise(CONV_SPEC)) {
    const adapted = g.adapted ?? (JSON.parse(list.replace(/'/g, '"')) as string[]);
    const [, stride, pad] = /conv\(x,E1,stride(\d+),(valid|same)\)/.exec(spec)!;
    return buildConv(adapted, Number(stride), pad as 'valid' | 'same');
  }
  if (spec === LSTM_SPEC) return buildLstm;
  throw new Error(`${file}: unknown golden case: no builder for spec "${spec.slice(0, 160)}..."; add one to test/second-order/golden-cases.ts`);
}

export function runGolden(g: GoldenFile, file: string): MetaResult {
  const build = builderFor(g, file);
  let result: MetaResult | undefined;
  tf.tidy(() => {
    const toT = (rec: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, tf.tensor(v as number[], undefined, 'float32')]));
    result = build(g, file, toT(g.inputs), toT(g.params));
  });
  return result!;
}

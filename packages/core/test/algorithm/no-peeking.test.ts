// Tailoring at test time sees only the context (and actions): the frames it predicts must not
// reach the prediction. noPeekingCheck predicts a batch as evaluate does, then again with the
// frames after the context NaN; the predictions (untailored and tailored, both forms, each inner
// optimiser) must be identical. (Per-example modes: predictors-mlp's test of the same name, mode 'cn'.)
import { describe, expect, it, vi } from 'vitest';
import { GradientInnerOptimizer, noPeekingCheck, tf, type Params, type State } from '../../src/index.js';
import { ToyEmbedding, ToyPredictor, oscillatorDataset } from './toy.js';

// A switch that makes the test-time window hand the predictor one frame past the context (its
// initState starts from the last context frame): the peeking the check exists to catch.
const leak = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/algorithm/batch.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/algorithm/batch.js')>();
  return { ...m, makeWindow: (...[p, b, o]: Parameters<typeof m.makeWindow>) => m.makeWindow(p, b, leak.on ? { ...o, contextLength: o.contextLength + 1 } : o) };
});

const C = 2; // context frames

/** The check on 4 oscillator sequences of 8 frames; frees all it made. */
function check(predictor: ToyPredictor, form: '2a' | '2b' = '2a', kind: 'sgd' | 'adam' | 'nsgd' = 'sgd', contextLength = C) {
  const embedding = new ToyEmbedding();
  const setup = {
    predictor, embedding, mode: 'noether', form, tailorMode: 'all', contextLength,
    inner: new GradientInnerOptimizer({ kind, steps: 3, lr: 0.05 }), lrTheta: 0, lrPhi: 0,
  } as const;
  const theta = predictor.init(1);
  const phi = embedding.init(2);
  const batch = oscillatorDataset(4, 4, 8, 5).gather('test', [0, 1, 2, 3]);
  try {
    return noPeekingCheck(setup, { theta, phi }, batch);
  } finally {
    tf.dispose([theta, phi, batch.obs] as tf.TensorContainer);
  }
}

describe('no ground truth after the context reaches a test-time prediction', () => {
  for (const [form, kind] of [['2a', 'sgd'], ['2b', 'adam'], ['2b', 'nsgd']] as const) {
    it(`tailoring all, form ${form}, ${kind}`, () => {
      const before = tf.memory().numTensors;
      const r = check(new ToyPredictor(), form, kind);
      expect(r.problem).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.maxChange).toEqual({ untailored: 0, tailored: 0 });
      // Tailoring did something (else the check would be vacuous).
      expect(r.tailoringChanged).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('noPeekingCheck', () => {
  it('fails, naming what changed, when the window hands the predictor a frame after the context', () => {
    const before = tf.memory().numTensors;
    leak.on = true;
    try {
      const r = check(new ToyPredictor());
      expect(r.ok).toBe(false);
      expect(r.maxChange).toEqual({ untailored: Infinity, tailored: Infinity });
      expect(r.problem).toMatch(/^with the frames after the context \(2\) replaced by NaN, the untailored and tailored mlp-step prediction changed \(values turned NaN\): ground truth after the context reaches it/);
    } finally {
      leak.on = false;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails a model that draws its own randomness, and one that predicts NaN; leaks nothing, also when it throws', () => {
    const before = tf.memory().numTensors;
    class Jittery extends ToyPredictor {
      override step(p: Params, s: State): State {
        return tf.tidy(() => ({ obs: tf.add(super.step(p, s).obs, Math.random()) }));
      }
    }
    const r = check(new Jittery());
    expect(r.ok).toBe(false);
    expect(r.maxChange.untailored).toBeGreaterThan(0);
    expect(r.maxChange.untailored).toBeLessThan(Infinity);
    expect(r.problem).toMatch(/not a function of the context, the actions and the noise core gives it/);
    class Broken extends ToyPredictor {
      override step(p: Params, s: State): State {
        return tf.tidy(() => ({ obs: tf.mul(super.step(p, s).obs, NaN) }));
      }
    }
    expect(check(new Broken()).problem).toMatch(/^the mlp-step prediction of the batch as given is not finite/);
    expect(() => check(new ToyPredictor(), '2a', 'sgd', 8)).toThrow(/a window of 8 context \+ 0 predicted steps does not fit sequences of length 8/);
    class Failing extends ToyPredictor {
      steps = 0;
      override step(p: Params, s: State): State {
        if (++this.steps > 8) throw new Error('step failed'); // in the first inner step, with tensors made
        return super.step(p, s);
      }
    }
    expect(() => check(new Failing())).toThrow('step failed');
    expect(tf.memory().numTensors).toBe(before);
  });
});

// "No tensor leaks" for this package's entry points called outside tf.tidy, and pretrain's error paths.
import { describe, expect, it } from 'vitest';
import { tf, disposeParams } from '@noether/core';
import { VectorFieldPredictor, pretrain, integrate } from '../src/index.js';

const count = () => tf.memory().numTensors;

describe('tensor leaks', () => {
  it('pretrain frees its iterates and Adam state when onProgress throws (e.g. the caller stopping)', () => {
    const p = new VectorFieldPredictor('mlp', { dt: 0.1, hidden: 4 });
    const theta = p.init(1);
    const data = { x: tf.randomNormal([8, 2]), dxdt: tf.randomNormal([8, 2]) };
    const before = count();
    const stop = (q: { step: number }) => {
      if (q.step === 2) throw new Error('stopped');
    };
    expect(() => pretrain(p, theta, data, { steps: 5, progressEvery: 1, onProgress: stop })).toThrow('stopped');
    expect(count()).toBe(before);
    disposeParams(theta, data);
  });

  it('field and integrate (euler, rk4; mlp and hnn) leave only their result behind', () => {
    const x = tf.randomNormal([3, 2]);
    for (const kind of ['mlp', 'hnn'] as const) {
      for (const integrator of ['euler', 'rk4'] as const) {
        const p = new VectorFieldPredictor(kind, { dt: 0.1, hidden: 4, integrator });
        const theta = p.init(1);
        const before = count();
        // The network's activations, ∂H/∂x and the RK4 stages used to stay (an rk4 step of the mlp field: 15).
        const f = p.field(theta, x);
        const y = integrate((s) => p.field(theta, s), x, 0.1, integrator);
        expect(count(), `${kind}/${integrator}`).toBe(before + 2);
        tf.dispose([f, y]);
        disposeParams(theta);
      }
    }
    x.dispose();
  });
});

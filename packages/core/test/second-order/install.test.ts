import { describe, it, expect } from 'vitest';
import { tf } from '../../src/tf.js';
import { checkSecondOrderFixes, installSecondOrderFixes, secondOrderFixedKernels } from '../../src/second-order/install.js';

describe('second-order fixes installation', () => {
  it('is in place once core is loaded: Tanh saves its input, not its output', () => {
    const g = tf.getGradient('Tanh');
    expect(g.inputsToSave).toEqual(['x']);
    expect(g.outputsToSave ?? []).toEqual([]);
    expect(secondOrderFixedKernels()).toContain('Conv2DBackpropFilter');
    expect(() => checkSecondOrderFixes()).not.toThrow();
  });
  it('detects a later tfjs import that puts the stock gradients back, and can be reinstalled', () => {
    const ours = tf.getGradient('Tanh');
    // What register_all_gradients does on a late import: the stock, output-saving Tanh gradient.
    tf.registerGradient({
      kernelName: 'Tanh',
      outputsToSave: [true],
      gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(1, tf.square(y!)), dy as tf.Tensor) }),
    });
    try {
      expect(() => checkSecondOrderFixes()).toThrow(/Tanh \(saves its output/);
    } finally {
      installSecondOrderFixes();
    }
    expect(tf.getGradient('Tanh')).toBe(ours);
    expect(() => checkSecondOrderFixes()).not.toThrow();
  });
});

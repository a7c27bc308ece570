import { tf } from '../tf.js';

export const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'elu', 'softplus', 'sin', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export function activate(name: Activation, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'tanh': return tf.tanh(x);
    case 'relu': return tf.relu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'elu': return tf.elu(x);
    case 'softplus': return tf.softplus(x);
    case 'sin': return tf.sin(x);
    case 'linear': return x;
  }
}

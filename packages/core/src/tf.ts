// The one tfjs entry point of the project. Every package imports tf from @noether/core,
// so there is a single tfjs-core copy, all gradients are registered, and the
// second-order fixes are installed after every tfjs import (a late
// register_all_gradients import would silently undo them).
import * as tf from '@tensorflow/tfjs-core';
import './tfjs-extras.js';
import '@tensorflow/tfjs-backend-cpu';
import { installSecondOrderFixes } from './second-order/install.js';
import { installCpuKernelFixes } from './backend/composer.js';

installSecondOrderFixes();
installCpuKernelFixes();

export { tf };
export type Tensor = tf.Tensor;
export type Scalar = tf.Scalar;

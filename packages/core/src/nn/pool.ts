// 2×2 max-pooling and 2× nearest upsampling from reshape + max / broadcast-multiply: bit-identical
// to tf.maxPool / tf.image.resizeNearestNeighbor forward, and differentiable to any order (the
// MaxPoolGrad and ResizeNearestNeighborGrad route needs extra kernels; tile's gradient stops at rank 4).
import { tf } from '../tf.js';

/** x [B, H, W, C] → [B, ⌊H/2⌋, ⌊W/2⌋, C] (like tf.maxPool(x, 2, 2, 'valid'): odd edges dropped). */
export function maxPool2x2(x: tf.Tensor): tf.Tensor4D {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const h = Math.floor(H / 2);
  const w = Math.floor(W / 2);
  if (h < 1 || w < 1) throw new Error(`maxPool2x2 needs at least 2×2 pixels, got ${H}×${W}`);
  const even = H % 2 || W % 2 ? tf.slice(x, [0, 0, 0, 0], [B, 2 * h, 2 * w, C]) : x;
  return tf.max(tf.reshape(even, [B, h, 2, w, 2, C]), [2, 4]) as tf.Tensor4D;
}

/** x [B, H, W, C] → [B, 2H, 2W, C], each pixel repeated 2×2 (nearest neighbour). */
export function upsampleNearest2x(x: tf.Tensor): tf.Tensor4D {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const spread = tf.mul(tf.reshape(x, [B, H, 1, W, 1, C]), tf.ones([1, 1, 2, 1, 2, 1]));
  return tf.reshape(spread, [B, 2 * H, 2 * W, C]) as tf.Tensor4D;
}

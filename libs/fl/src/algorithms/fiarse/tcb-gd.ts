import * as tf from '@tensorflow/tfjs-core';
import type { TrainHooks } from '../../train/types.js';

/**
 * Threshold-controlled biased gradient (TCB-GD, FIARSE spec "Local training").
 *
 * Forward: the layer uses w·1[|w| ≥ θ], the mask taken from the current w at every call.
 * Backward: ∂L/∂w = g·(1 + 2θ|w| / (|w| + θ)²) for kept elements and 0 for masked ones, where g
 * is the gradient w.r.t. the effective weight. This is the product rule on w·m(|w|) with a
 * straight-through mask: m's value is the hard 0/1 but its slope is that of the smooth step
 * (s − θ)/(s + θ), i.e. 2θ/(s + θ)² (kept elements only). Around a point w₀ the gradient is
 * therefore exactly the derivative of the surrogate
 *   e(w) = m₀ · w · (1 + h(|w|) − h(|w₀|)),  h(s) = (s − θ)/(s + θ),  m₀ = 1[|w₀| ≥ θ],
 * which equals the forward value at w₀; the tests check the gradient against finite differences
 * of this surrogate.
 *
 * θ = 0 means "keep everything" (β = 1): the tensor is used as is, so the full-size client trains
 * the plain model (the factor would also be 0/0 at w = 0).
 */
export function tcbMasked(w: tf.Tensor, theta: number): tf.Tensor {
  if (!(Number.isFinite(theta) && theta >= 0)) throw new Error(`tcbMasked: θ must be a finite number ≥ 0, got ${theta}`);
  if (theta === 0) return w;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const magnitude = tf.abs(x);
    const keep = tf.cast(tf.greaterEqual(magnitude, theta), 'float32');
    save([magnitude, keep]);
    return {
      value: tf.mul(x, keep),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [mag, kept] = saved as [tf.Tensor, tf.Tensor];
        const factor = tf.add(1, tf.div(tf.mul(mag, 2 * theta), tf.square(tf.add(mag, theta))));
        return tf.mul(dy, tf.mul(kept, factor));
      },
    };
  });
  return op(w);
}

/** TrainHooks that run every tensor through TCB-GD with its own θ (spec order; 0 = unmasked). */
export function tcbTrainHooks(thresholds: readonly number[]): TrainHooks {
  return {
    effectiveParams: (vars) => {
      if (vars.length !== thresholds.length) {
        throw new Error(`tcbTrainHooks: ${vars.length} tensors but ${thresholds.length} thresholds`);
      }
      return vars.map((v, i) => tcbMasked(v, thresholds[i]!));
    },
  };
}

import type * as tf from '@tensorflow/tfjs-core';
import type { ParamSpec } from '../params/spec.js';
import type { StackLayer } from '../compute/layer-stack.js';

export type ModelName = 'fedavgcnn' | 'mlp' | 'logreg';

/**
 * A model is a pure function of its parameters: algorithms own the parameter vector and the
 * training loop, the model only says how parameters and inputs make logits.
 */
export interface ModelDef {
  readonly name: ModelName;
  /** per-sample input shape, e.g. [28, 28, 1] (NHWC) or [784] */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly spec: ParamSpec;
  /** PyTorch-default initialisation: every weight and bias ~ U(−1/√fan_in, +1/√fan_in), seeded. */
  init(seed: number): Float32Array;
  /**
   * Logits [B, numClasses] for a batch x of shape [B, ...inputShape].
   * `params` holds one tensor per spec entry, in spec order, shaped as the spec says.
   */
  forward(params: readonly tf.Tensor[], x: tf.Tensor): tf.Tensor2D;
  /**
   * Set when `forward` is exactly these layers applied in order to x (tensor indices into the
   * spec). Training may then run the whole step without tfjs's engine (compute/layer-stack.ts);
   * a test checks it gives the bytes of training through `forward`.
   */
  readonly layerStack?: readonly StackLayer[];
}

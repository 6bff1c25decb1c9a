import * as tf from '@tensorflow/tfjs-core';
import type { ParamRole, TensorDecl } from '../params/spec.js';
import { conv2dLayer, denseLayer } from '../compute/fused-layers.js';

/**
 * Building blocks shared by the models: parameter declarations in PyTorch's terms (fan_in) laid
 * out the tfjs way, and functional layers over caller-supplied weight tensors so algorithms can
 * substitute masked or mixed weights.
 */

export function convDecls(layer: string, k: number, inC: number, outC: number, role: ParamRole): TensorDecl[] {
  const fanIn = inC * k * k;
  return [
    { name: `${layer}.weight`, layer, layerType: 'conv2d', kind: 'weight', shape: [k, k, inC, outC], role, fanIn },
    { name: `${layer}.bias`, layer, layerType: 'conv2d', kind: 'bias', shape: [outC], role, fanIn },
  ];
}

export function denseDecls(layer: string, inF: number, outF: number, role: ParamRole): TensorDecl[] {
  return [
    { name: `${layer}.weight`, layer, layerType: 'dense', kind: 'weight', shape: [inF, outF], role, fanIn: inF },
    { name: `${layer}.bias`, layer, layerType: 'dense', kind: 'bias', shape: [outF], role, fanIn: inF },
  ];
}

/**
 * Conv+bias+ReLU as one kernel forward and one backward where the backend has the fused layer
 * kernels (compute/fused-layers.ts), else tfjs's fused ops (unfused under a gradient tape).
 */
export function conv2dValid(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, relu: boolean): tf.Tensor4D {
  return conv2dLayer(x, w as tf.Tensor4D, b, { strides: 1, pad: 'valid', relu });
}

export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

export function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, relu: boolean): tf.Tensor2D {
  return denseLayer(x, w as tf.Tensor2D, b, relu);
}

/** Collapses every per-sample dimension: [B, ...] → [B, prod(...)]. */
export function flatten(x: tf.Tensor): tf.Tensor2D {
  const b = x.shape[0];
  if (b === undefined) throw new Error('flatten: input must have a batch dimension');
  return tf.reshape(x, [b, -1]);
}

/** Checks the forward's arguments once per call; a wrong layout otherwise fails deep inside tfjs. */
export function checkForwardArgs(
  model: string,
  params: readonly tf.Tensor[],
  expected: readonly { readonly name: string; readonly shape: readonly number[] }[],
  x: tf.Tensor,
  inputShape: readonly number[],
): void {
  if (params.length !== expected.length) {
    throw new Error(`${model}.forward: got ${params.length} parameter tensors, expected ${expected.length} (one per spec entry)`);
  }
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i]!;
    const got = params[i]!.shape;
    if (got.length !== want.shape.length || got.some((d, j) => d !== want.shape[j])) {
      throw new Error(`${model}.forward: parameter '${want.name}' has shape [${got.join(', ')}], expected [${want.shape.join(', ')}]`);
    }
  }
  const sample = x.shape.slice(1);
  if (sample.length !== inputShape.length || sample.some((d, j) => d !== inputShape[j])) {
    throw new Error(`${model}.forward: input has shape [${x.shape.join(', ')}], expected [B, ${inputShape.join(', ')}]`);
  }
}

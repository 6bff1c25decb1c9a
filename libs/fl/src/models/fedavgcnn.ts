import type * as tf from '@tensorflow/tfjs-core';
import { makeSpec } from '../params/spec.js';
import { initUniformFanIn } from './init.js';
import { checkForwardArgs, conv2dValid, convDecls, dense, denseDecls, flatten, maxPool2 } from './layers.js';
import type { ModelDef } from './types.js';

const KERNEL = 5;

/** Spatial size after a valid 5×5 conv and a 2×2 max-pool (floor, as PyTorch's MaxPool2d). */
const stage = (size: number): number => Math.floor((size - KERNEL + 1) / 2);

/**
 * FedAvgCNN (McMahan et al. 2017, as in FedOBP/PFLlib): two 5×5 conv + max-pool stages, a
 * 512-unit hidden layer and the classifier (head). 582,026 parameters at 28×28×1, 10 classes.
 * The flatten runs over NHWC rather than PyTorch's NCHW; that permutes fc1's input rows but
 * nothing else (parameter count and init statistics are the same).
 */
export function createFedAvgCnn(inputShape: readonly number[], numClasses: number): ModelDef {
  if (inputShape.length !== 3) {
    throw new Error(`fedavgcnn: inputShape must be [height, width, channels], got [${inputShape.join(', ')}]`);
  }
  const [h, w, c] = inputShape as [number, number, number];
  const outH = stage(stage(h));
  const outW = stage(stage(w));
  if (outH < 1 || outW < 1) {
    throw new Error(`fedavgcnn: input ${h}×${w} is too small for two 5×5 conv + 2×2 pool stages (need at least 16×16)`);
  }
  const flat = outH * outW * 64;
  const spec = makeSpec([
    ...convDecls('conv1', KERNEL, c, 32, 'body'),
    ...convDecls('conv2', KERNEL, 32, 64, 'body'),
    ...denseDecls('fc1', flat, 512, 'body'),
    ...denseDecls('classifier', 512, numClasses, 'head'),
  ]);
  const shape = [...inputShape];
  return {
    name: 'fedavgcnn',
    inputShape: shape,
    numClasses,
    spec,
    init: (seed) => initUniformFanIn(spec, seed),
    layerStack: [
      { kind: 'conv', weight: 0, bias: 1, relu: true, strides: 1, pad: 'valid' },
      { kind: 'maxPool', size: 2, stride: 2 },
      { kind: 'conv', weight: 2, bias: 3, relu: true, strides: 1, pad: 'valid' },
      { kind: 'maxPool', size: 2, stride: 2 },
      { kind: 'flatten' },
      { kind: 'dense', weight: 4, bias: 5, relu: true },
      { kind: 'dense', weight: 6, bias: 7, relu: false },
    ],
    forward(params: readonly tf.Tensor[], x: tf.Tensor): tf.Tensor2D {
      checkForwardArgs('fedavgcnn', params, spec.tensors, x, shape);
      const [c1w, c1b, c2w, c2b, f1w, f1b, clw, clb] = params as [
        tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor,
      ];
      const a1 = maxPool2(conv2dValid(x as tf.Tensor4D, c1w, c1b, true));
      const a2 = maxPool2(conv2dValid(a1, c2w, c2b, true));
      const h1 = dense(flatten(a2), f1w, f1b, true);
      return dense(h1, clw, clb, false);
    },
  };
}

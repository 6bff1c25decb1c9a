import type * as tf from '@tensorflow/tfjs-core';
import { makeSpec } from '../params/spec.js';
import { initUniformFanIn } from './init.js';
import { checkForwardArgs, dense, denseDecls, flatten } from './layers.js';
import type { ModelDef } from './types.js';

/**
 * Multinomial logistic regression: one linear layer on the flattened input.
 *
 * Body/head: the body is the feature extractor, the head the final linear classifier. Here the
 * feature extractor is the identity, so the single layer is the `classifier` with role 'head'
 * and the body is empty. Consequences: methods that train or share only the body (FedBABU,
 * FedPer, FedRep's body phase, LG-FedAvg's personal part) have nothing to train or share on
 * this model; use `mlp` to exercise them cheaply.
 */
export function createLogReg(inputShape: readonly number[], numClasses: number): ModelDef {
  const inF = inputShape.reduce((a, b) => a * b, 1);
  const spec = makeSpec(denseDecls('classifier', inF, numClasses, 'head'));
  const shape = [...inputShape];
  return {
    name: 'logreg',
    inputShape: shape,
    numClasses,
    spec,
    init: (seed) => initUniformFanIn(spec, seed),
    layerStack: [{ kind: 'flatten' }, { kind: 'dense', weight: 0, bias: 1, relu: false }],
    forward(params: readonly tf.Tensor[], x: tf.Tensor): tf.Tensor2D {
      checkForwardArgs('logreg', params, spec.tensors, x, shape);
      const [w, b] = params as [tf.Tensor, tf.Tensor];
      return dense(flatten(x), w, b, false);
    },
  };
}

import type * as tf from '@tensorflow/tfjs-core';
import { makeSpec } from '../params/spec.js';
import { initUniformFanIn } from './init.js';
import { checkForwardArgs, dense, denseDecls, flatten } from './layers.js';
import type { ModelDef } from './types.js';

const HIDDEN = 200;

/** Two hidden ReLU layers of 200 units and the classifier (head); any input shape is flattened. */
export function createMlp(inputShape: readonly number[], numClasses: number): ModelDef {
  const inF = inputShape.reduce((a, b) => a * b, 1);
  const spec = makeSpec([
    ...denseDecls('fc1', inF, HIDDEN, 'body'),
    ...denseDecls('fc2', HIDDEN, HIDDEN, 'body'),
    ...denseDecls('classifier', HIDDEN, numClasses, 'head'),
  ]);
  const shape = [...inputShape];
  return {
    name: 'mlp',
    inputShape: shape,
    numClasses,
    spec,
    init: (seed) => initUniformFanIn(spec, seed),
    layerStack: [
      { kind: 'flatten' },
      { kind: 'dense', weight: 0, bias: 1, relu: true },
      { kind: 'dense', weight: 2, bias: 3, relu: true },
      { kind: 'dense', weight: 4, bias: 5, relu: false },
    ],
    forward(params: readonly tf.Tensor[], x: tf.Tensor): tf.Tensor2D {
      checkForwardArgs('mlp', params, spec.tensors, x, shape);
      const [w1, b1, w2, b2, w3, b3] = params as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const h1 = dense(flatten(x), w1, b1, true);
      const h2 = dense(h1, w2, b2, true);
      return dense(h2, w3, b3, false);
    },
  };
}

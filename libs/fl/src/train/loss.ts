import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { fusedSoftmaxCrossEntropy } from '../compute/fused-layers.js';

/**
 * One-hot rows as float32. Built as int32 and cast: tfjs-backend-wasm 4.22's OneHot kernel
 * ignores the dtype argument and writes int32 bits into a float32 tensor.
 */
function oneHotFloat(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D;
}

/**
 * Mean softmax cross-entropy over a batch (PyTorch's CrossEntropyLoss with mean reduction).
 * The gradient is written out, (softmax − onehot)/B, rather than taped through logSoftmax,
 * which saves the backward a reduction and a broadcast per step.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  // one kernel forward and one multiply backward where the backend has it (compute/fused-layers.ts)
  const fused = fusedSoftmaxCrossEntropy(logits, labels);
  if (fused) return fused;
  const [b, c] = logits.shape;
  const onehot = oneHotFloat(labels, c);
  const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const logp = tf.logSoftmax(z);
    // Saved, not closed over: the engine disposes forward intermediates before the backward.
    save([logp, onehot]);
    const value = tf.div(tf.neg(tf.sum(tf.mul(onehot, logp))), b) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedLogp, savedOnehot] = saved as [tf.Tensor, tf.Tensor];
        return tf.mul(dy, tf.div(tf.sub(tf.exp(savedLogp), savedOnehot), b));
      },
    };
  });
  return ce(logits) as tf.Scalar;
}

/** Summed (not averaged) cross-entropy and the number of correct argmax predictions. */
export function crossEntropySumAndCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): { lossSum: tf.Scalar; correct: tf.Scalar } {
  const c = logits.shape[1];
  const onehot = oneHotFloat(labels, c);
  const lossSum = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)))) as tf.Scalar;
  const correct: tf.Scalar = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
  return { lossSum, correct };
}

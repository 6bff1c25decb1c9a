import * as tf from '@tensorflow/tfjs-core';
import type { ClientData } from '../data/types.js';
import type { ModelDef } from '../models/types.js';
import { checkClientData, sliceBatch } from './batches.js';
import { EventLoopYielder } from './event-loop.js';
import { crossEntropySumAndCorrect } from './loss.js';
import type { EvalResult } from './types.js';

export const DEFAULT_EVAL_BATCH = 256;

/** Accuracy counts and summed cross-entropy of `params` on every sample of `data`. */
export async function evaluate(
  model: ModelDef,
  params: Float32Array,
  data: ClientData,
  batchSize: number = DEFAULT_EVAL_BATCH,
): Promise<EvalResult> {
  const spec = model.spec;
  if (params.length !== spec.size) {
    throw new Error(`evaluate: params has ${params.length} values, model '${model.name}' has ${spec.size}`);
  }
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  }
  checkClientData(model, data, 'evaluate');
  if (data.n === 0) return { correct: 0, total: 0, lossSum: 0 };

  const weights = spec.tensors.map((t) => tf.tensor(params.slice(t.offset, t.offset + t.length), [...t.shape]));
  let lossSum: tf.Scalar = tf.scalar(0);
  let correct: tf.Scalar = tf.scalar(0, 'int32');
  const yielder = new EventLoopYielder();
  try {
    for (let from = 0; from < data.n; from += batchSize) {
      await yielder.maybeYield();
      const to = Math.min(from + batchSize, data.n);
      const [nextLoss, nextCorrect] = tf.tidy(() => {
        const batch = sliceBatch(model, data, from, to);
        const r = crossEntropySumAndCorrect(model.forward(weights, batch.x), batch.labels);
        return [tf.add(lossSum, r.lossSum) as tf.Scalar, tf.add(correct, r.correct) as tf.Scalar];
      });
      lossSum.dispose();
      correct.dispose();
      lossSum = nextLoss;
      correct = nextCorrect;
    }
    const [loss, hits] = await Promise.all([lossSum.data(), correct.data()]);
    return { correct: hits[0] ?? 0, total: data.n, lossSum: loss[0] ?? 0 };
  } finally {
    tf.dispose([...weights, lossSum, correct]);
  }
}

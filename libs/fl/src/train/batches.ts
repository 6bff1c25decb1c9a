import * as tf from '@tensorflow/tfjs-core';
import type { ClientData } from '../data/types.js';
import type { ModelDef } from '../models/types.js';
import { Rng } from '../util/rng.js';

/**
 * Mini-batch planning and assembly shared by training and evaluation. Batches are index lists
 * into a client's samples; assembly copies each sample's contiguous feature row into one flat
 * buffer per batch, so a step costs one tensor upload and no per-element JS objects.
 */

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Checks that `data` fits `model`: same feature size, consistent lengths, labels in range. */
export function checkClientData(model: ModelDef, data: ClientData, who: string): void {
  const f = product(model.inputShape);
  if (product(data.featureShape) !== f) {
    throw new Error(
      `${who}: data.featureShape [${data.featureShape.join(', ')}] has ${product(data.featureShape)} features, ` +
        `model '${model.name}' expects inputShape [${model.inputShape.join(', ')}] (${f} features)`,
    );
  }
  if (!Number.isInteger(data.n) || data.n < 0) throw new Error(`${who}: data.n must be a non-negative integer, got ${data.n}`);
  if (data.x.length !== data.n * f) {
    throw new Error(`${who}: data.x has ${data.x.length} values, expected n·features = ${data.n}·${f} = ${data.n * f}`);
  }
  if (data.y.length !== data.n) throw new Error(`${who}: data.y has ${data.y.length} labels, expected data.n = ${data.n}`);
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i]!;
    if (!(label >= 0 && label < model.numClasses)) {
      throw new Error(`${who}: data.y[${i}] = ${label} is outside 0..${model.numClasses - 1} (model '${model.name}')`);
    }
  }
}

/** The sample order of one epoch: a seeded permutation of 0..n−1. */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return Rng.derive(seed, 'epoch', epoch).shuffle(order);
}

/**
 * What happens to an epoch's last, short chunk. `undefined` is fedsim's own rule (docs/specs/protocol.md):
 * skip it only when it holds ≤ 1 sample. `true` is PyTorch's drop_last=True (skip any short
 * chunk); `false` is drop_last=False (keep it, even a single sample).
 */
export type DropLast = boolean | undefined;

/** Whether a chunk of `size` becomes a batch (each epoch stops at the first that does not). */
export const keepsChunk = (size: number, batchSize: number, dropLast: DropLast): boolean =>
  dropLast === undefined ? size > 1 : dropLast ? size === batchSize : size > 0;

/** Consecutive chunks of an epoch's order; the last one is kept or skipped as `dropLast` says. */
export function* epochBatches(order: Uint32Array, batchSize: number, dropLast?: DropLast): Generator<Uint32Array> {
  for (let at = 0; at < order.length; at += batchSize) {
    const chunk = order.subarray(at, Math.min(at + batchSize, order.length));
    if (!keepsChunk(chunk.length, batchSize, dropLast)) return;
    yield chunk;
  }
}

export interface BatchPlan {
  readonly n: number;
  readonly batchSize: number;
  readonly seed: number;
  /** full passes; ignored when `iterations` is set */
  readonly epochs: number;
  /** a fixed number of batches, reshuffling at every pass over the data */
  readonly iterations?: number | undefined;
  readonly dropLast?: DropLast;
}

/**
 * Every training batch of one local-training call, in order. In iteration mode, epoch e's order
 * is the same permutation epoch mode would use, so the two modes agree on their common prefix.
 */
export function* trainingBatches(plan: BatchPlan): Generator<Uint32Array> {
  const { n, batchSize, seed, dropLast } = plan;
  if (plan.iterations === undefined) {
    for (let e = 0; e < plan.epochs; e++) yield* epochBatches(epochOrder(n, seed, e), batchSize, dropLast);
    return;
  }
  // When not even the first chunk survives the last-batch rule, cycling would never end.
  if (!keepsChunk(Math.min(n, batchSize), batchSize, dropLast)) return;
  let done = 0;
  for (let e = 0; done < plan.iterations; e++) {
    for (const batch of epochBatches(epochOrder(n, seed, e), batchSize, dropLast)) {
      if (done === plan.iterations) return;
      yield batch;
      done++;
    }
  }
}

export interface Batch {
  /** [B, ...model.inputShape] */
  readonly x: tf.Tensor;
  /** [B] int32 */
  readonly labels: tf.Tensor1D;
}

/** Uploads the given samples as one batch (a copy: tensors never alias the client's arrays). */
export function gatherBatch(model: ModelDef, data: ClientData, indices: ArrayLike<number>): Batch {
  const b = indices.length;
  const xs = new Float32Array(b * product(model.inputShape));
  const ys = new Int32Array(b);
  gatherInto(data, indices, xs, ys);
  return { x: tf.tensor(xs, [b, ...model.inputShape], 'float32'), labels: tf.tensor1d(ys, 'int32') };
}

/** The given samples' feature rows into xs and labels into ys, in order (xs holds indices.length rows). */
export function gatherInto(data: ClientData, indices: ArrayLike<number>, xs: Float32Array, ys: Int32Array): void {
  const f = product(data.featureShape);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    xs.set(data.x.subarray(i * f, i * f + f), j * f);
    ys[j] = data.y[i]!;
  }
}

/** Samples [from, to) in stored order, for evaluation. */
export function sliceBatch(model: ModelDef, data: ClientData, from: number, to: number): Batch {
  const f = product(model.inputShape);
  return {
    x: tf.tensor(data.x.slice(from * f, to * f), [to - from, ...model.inputShape], 'float32'),
    labels: tf.tensor1d(data.y.slice(from, to), 'int32'),
  };
}

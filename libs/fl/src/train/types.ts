import type * as tf from '@tensorflow/tfjs-core';
import type { TensorSpec } from '../params/spec.js';

export interface SgdOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface LocalTrainOptions {
  readonly sgd: SgdOptions;
  readonly batchSize: number;
  /** full passes over the data; ignored when `iterations` is set */
  readonly epochs: number;
  /** a fixed number of mini-batches cycling over the data (FIARSE's protocol) */
  readonly iterations?: number;
  /** seeds the per-epoch shuffles */
  readonly seed: number;
  /** the last short batch of an epoch: see `DropLast` (undefined: skip it only at ≤ 1 sample) */
  readonly dropLast?: boolean;
}

/**
 * Algorithm-specific changes to the shared SGD loop. Every hook is optional; the loop without
 * hooks is plain SGD with momentum and weight decay (docs/specs/protocol.md).
 */
export interface TrainHooks {
  /** Per-tensor learning-rate scale; 0 freezes the tensor (no update, no weight decay). */
  lrScale?(t: TensorSpec): number;
  /** An extra loss term on the current parameters, e.g. FedProx's proximal term. */
  extraLoss?(params: readonly tf.Variable[]): tf.Scalar;
  /**
   * Maps the trainable variables to the tensors the forward pass uses (e.g. FIARSE's masked
   * weights with a custom gradient). Must be differentiable w.r.t. the variables.
   */
  effectiveParams?(params: readonly tf.Variable[]): tf.Tensor[];
}

export interface TrainResult {
  readonly params: Float32Array;
  /** mean training loss over all steps */
  readonly loss: number;
  readonly steps: number;
  readonly samplesSeen: number;
}

export interface EvalResult {
  readonly correct: number;
  readonly total: number;
  /** summed (not averaged) cross-entropy, so results pool across clients */
  readonly lossSum: number;
}

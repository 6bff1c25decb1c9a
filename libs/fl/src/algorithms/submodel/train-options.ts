import { z } from 'zod';
import type { LocalTrainOptions } from '../../train/types.js';
import { localSamples } from '../../system/duration.js';
import type { AlgorithmEnv } from '../types.js';

/**
 * Per-algorithm overrides of the experiment's `train:` settings. FIARSE's reference optimiser
 * (plain SGD, lr 0.1, batch 20, 100 iterations) differs from the protocol's; putting it in the
 * algorithm block keeps one experiment file comparable across methods. Unset fields keep the
 * experiment's values. Setting `iterations` switches to the fixed-iteration mode (epochs ignored).
 */
export const trainOverrideShape = {
  lr: z.number().positive().optional(),
  momentum: z.number().min(0).lt(1).optional(),
  weightDecay: z.number().min(0).optional(),
  batchSize: z.number().int().positive().optional(),
  iterations: z.number().int().positive().optional(),
};

export interface TrainOverrides {
  readonly lr?: number | undefined;
  readonly momentum?: number | undefined;
  readonly weightDecay?: number | undefined;
  readonly batchSize?: number | undefined;
  readonly iterations?: number | undefined;
}

/** The experiment's local-training settings with the algorithm's overrides applied. */
export function overriddenTrainOptions(env: AlgorithmEnv, o: TrainOverrides, seed: number): LocalTrainOptions {
  const base = env.train;
  const iterations = o.iterations ?? base.iterations;
  return {
    sgd: {
      lr: o.lr ?? base.sgd.lr,
      momentum: o.momentum ?? base.sgd.momentum,
      weightDecay: o.weightDecay ?? base.sgd.weightDecay,
    },
    batchSize: o.batchSize ?? base.batchSize,
    epochs: base.epochs,
    ...(iterations !== undefined ? { iterations } : {}),
    ...(base.dropLast !== undefined ? { dropLast: base.dropLast } : {}),
    seed,
  };
}

/** Samples one local training with the overrides processes (its batch size and iterations, not the experiment's). */
export const overriddenLocalWorkSamples = (env: AlgorithmEnv, o: TrainOverrides, numTrain: number): number =>
  localSamples(numTrain, overriddenTrainOptions(env, o, 0));

import { z } from 'zod';
import { selectRole } from '../params/spec.js';
import { trainLocal } from '../train/sgd.js';
import type { LocalTrainOptions } from '../train/types.js';
import { personalizedEvaluate, weightedMeanAggregation } from './base.js';
import { derivedSeed } from './sampling.js';
import { localSamples } from '../system/duration.js';
import type { Algorithm, AlgorithmEnv, AlgorithmHooks, FitInput, FitResult } from './types.js';

export const fedRepOptionsSchema = z
  .object({
    /** epochs over the head with the body frozen, run first (Collins et al. 2021: many) */
    headEpochs: z.number().int().min(0).default(10),
    /** epochs over the body with the head frozen, run second */
    bodyEpochs: z.number().int().min(0).default(1),
  })
  .strict();
export type FedRepOptions = z.infer<typeof fedRepOptionsSchema>;

const isHead = selectRole('head');
const isBody = selectRole('body');

/** One phase's settings: the experiment's batches and SGD, the phase's own epochs. */
function phasePlan(env: AlgorithmEnv, epochs: number): Omit<LocalTrainOptions, 'seed'> {
  return { sgd: env.train.sgd, batchSize: env.train.batchSize, dropLast: env.train.dropLast, epochs };
}

/** FedRep's local work: the head phase's epochs, then the body phase's. */
export const fedRepLocalWorkSamples = (env: AlgorithmEnv, options: FedRepOptions, numTrain: number): number =>
  localSamples(numTrain, phasePlan(env, options.headEpochs)) + localSamples(numTrain, phasePlan(env, options.bodyEpochs));

/**
 * One FedRep participation: head phase, then body phase, each with a fresh optimiser so no
 * momentum leaks into the frozen part (a frozen tensor gets no update at all, unlike masking
 * gradients under one shared optimiser). Each phase counts whole epochs: FedRep's schedule is
 * defined in epochs, so a config's `train.iterations` does not apply here.
 */
export async function fedRepFit(env: AlgorithmEnv, options: FedRepOptions, input: FitInput): Promise<FitResult> {
  const phase = (epochs: number, name: string): LocalTrainOptions => ({
    ...phasePlan(env, epochs),
    // Distinct shuffles per phase; the body phase would otherwise replay the head's first epoch.
    seed: derivedSeed(input.seed, 'fedrep', name),
  });
  const head = await trainLocal(env.model, input.start, input.train, phase(options.headEpochs, 'head'), {
    lrScale: (t) => (isHead(t) ? 1 : 0),
  });
  const body = await trainLocal(env.model, head.params, input.train, phase(options.bodyEpochs, 'body'), {
    lrScale: (t) => (isBody(t) ? 1 : 0),
  });
  const steps = head.steps + body.steps;
  const loss = steps > 0 ? (head.loss * head.steps + body.loss * body.steps) / steps : 0;
  return { trained: body.params, loss, steps };
}

/**
 * FedRep (Collins et al. 2021): the head (`classifier`) is personal, the body is shared and
 * sample-weighted averaged. θ_g's head stays at its initial values for the whole run (never
 * aggregated), so θ_g alone is not reported as a `global` model.
 */
export const fedrep: Algorithm<FedRepOptions> = {
  name: 'fedrep',
  summary: 'FedRep: personal head trained first (body frozen), then the shared body (head frozen)',
  options: fedRepOptionsSchema,
  aggregatesByWeightedMean: true,
  create(env, options) {
    const hooks: AlgorithmHooks = {
      personal: isHead,
      shared: isBody,
      upload: 'model',
      hasGlobalModel: false,
      ...weightedMeanAggregation(env.model.spec, isBody),
      localWorkSamples: (numTrain) => fedRepLocalWorkSamples(env, options, numTrain),
      fit: (input) => fedRepFit(env, options, input),
      evaluate: (input) => personalizedEvaluate(env, hooks, input),
    };
    return hooks;
  },
};

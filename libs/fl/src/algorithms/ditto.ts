import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { ParamSpec } from '../params/spec.js';
import { selectAll, selectNone } from '../params/spec.js';
import { evaluate } from '../train/evaluate.js';
import { trainLocal } from '../train/sgd.js';
import type { LocalTrainOptions } from '../train/types.js';
import { localSamples } from '../system/duration.js';
import { sgdFit, weightedMeanAggregation } from './base.js';
import { proximalLoss } from './fedprox.js';
import { derivedSeed } from './sampling.js';
import type {
  Algorithm,
  AlgorithmEnv,
  AlgorithmHooks,
  ClientEvaluation,
  ClientState,
  EvalInput,
  FitInput,
  FitResult,
} from './types.js';

/** The client-state entry holding Ditto's personal model v_i (full layout). */
export const DITTO_PERSONAL_STATE = 'ditto.v';

export const dittoOptionsSchema = z
  .object({
    /** weight of the proximal term (λ/2)‖v_i − θ_g‖² (docs/specs/baselines.md: 1.0; FedBABU's runs: 0.75) */
    lambda: z.number().finite().min(0).default(1),
    /** epochs of the personal model per participation; absent = the experiment's local epochs */
    personalEpochs: z.number().int().min(0).optional(),
  })
  .strict();
export type DittoOptions = z.infer<typeof dittoOptionsSchema>;

/**
 * The client's personal model: the stored v_i, or θ_g before the client's first participation
 * (the Ditto paper leaves v_i⁰ free; starting from the current global is the natural choice).
 */
export function dittoPersonalModel(spec: ParamSpec, global: Float32Array, state: ClientState | undefined): Float32Array {
  const v = state?.[DITTO_PERSONAL_STATE];
  if (!v) return global;
  if (v.length !== spec.size) {
    throw new Error(`ditto: client state '${DITTO_PERSONAL_STATE}' has ${v.length} values, the model has ${spec.size}`);
  }
  return v;
}

/** The personal pass's settings: the experiment's, with `personalEpochs` when given. */
function personalPass(env: AlgorithmEnv, options: DittoOptions): Omit<LocalTrainOptions, 'seed'> {
  return { ...env.train, ...(options.personalEpochs !== undefined ? { epochs: options.personalEpochs } : {}) };
}

/** Ditto's local work: the global copy's pass, then the personal model's. */
export const dittoLocalWorkSamples = (env: AlgorithmEnv, options: DittoOptions, numTrain: number): number =>
  localSamples(numTrain, env.train) + localSamples(numTrain, personalPass(env, options));

/**
 * One Ditto participation (Li et al. 2021): the global copy is trained exactly as FedAvg's local
 * update from θ_g (and is what gets uploaded), then v_i is trained from its stored value on
 * cross-entropy + (λ/2)‖v_i − θ_g‖², anchored at the θ_g the client received. Both passes use
 * the experiment's SGD settings (lr, momentum, weight decay) with a fresh optimiser each, the
 * same local epochs unless `personalEpochs` says otherwise (the paper runs the same solver for
 * both; PFLlib and FL-bench default to 1 personal epoch), and their own shuffles. The reported
 * loss is the global copy's (comparable with FedAvg's); `steps` counts both passes.
 */
export async function dittoFit(env: AlgorithmEnv, options: DittoOptions, input: FitInput): Promise<FitResult> {
  const spec = env.model.spec;
  const global = await sgdFit(env, input);
  const v = dittoPersonalModel(spec, input.global, input.state);
  // λ = 0 skips the term so the personal pass is exactly local training of v_i.
  const anchor =
    options.lambda > 0
      ? spec.tensors.map((t) => tf.tensor(input.global.subarray(t.offset, t.offset + t.length), [...t.shape]))
      : [];
  try {
    const personal = await trainLocal(
      env.model,
      v,
      input.train,
      { ...personalPass(env, options), seed: derivedSeed(input.seed, 'ditto', 'personal') },
      options.lambda > 0 ? { extraLoss: proximalLoss(options.lambda, anchor) } : {},
    );
    return {
      trained: global.trained,
      state: { [DITTO_PERSONAL_STATE]: personal.params },
      loss: global.loss,
      steps: global.steps + personal.steps,
    };
  } finally {
    tf.dispose(anchor);
  }
}

/** `personalized` = v_i (θ_g for a client that never trained), `global` = θ_g. */
export async function dittoEvaluate(env: AlgorithmEnv, input: EvalInput): Promise<ClientEvaluation> {
  const v = dittoPersonalModel(env.model.spec, input.global, input.state);
  const personalized = await evaluate(env.model, v, input.test);
  const global = v === input.global ? personalized : await evaluate(env.model, input.global, input.test);
  return { personalized, global };
}

/**
 * Ditto: θ_g is plain FedAvg over full models; each client's v_i is a full model kept in its
 * server-side state (`ditto.v`), never uploaded or aggregated. θ_g itself has no personal tensors.
 */
export const ditto: Algorithm<DittoOptions> = {
  name: 'ditto',
  summary: 'Ditto: FedAvg global model + per-client personal model pulled towards θ_g by (λ/2)‖v − θ_g‖²',
  options: dittoOptionsSchema,
  aggregatesByWeightedMean: true,
  create(env, options) {
    const { lr, momentum } = env.train.sgd;
    // On the quadratic alone, heavy-ball SGD is stable only for lr·λ < 2(1 + momentum).
    if (lr * options.lambda >= 2 * (1 + momentum)) {
      throw new Error(
        `ditto: lambda=${options.lambda} with train.lr=${lr} and momentum=${momentum} makes the proximal step diverge; ` +
          `lower algorithm.lambda below ${(2 * (1 + momentum)) / lr}`,
      );
    }
    const hooks: AlgorithmHooks = {
      personal: selectNone,
      shared: selectAll,
      upload: 'model',
      hasGlobalModel: true,
      personalState: [DITTO_PERSONAL_STATE],
      ...weightedMeanAggregation(env.model.spec, selectAll),
      localWorkSamples: (numTrain) => dittoLocalWorkSamples(env, options, numTrain),
      fit: (input) => dittoFit(env, options, input),
      evaluate: (input) => dittoEvaluate(env, input),
    };
    return hooks;
  },
};

import type { ParamSpec, TensorSelector } from '../params/spec.js';
import { gatherTensors, scatterTensors, subSpec } from '../params/spec.js';
import { evaluate } from '../train/evaluate.js';
import { trainLocal } from '../train/sgd.js';
import type { TrainHooks } from '../train/types.js';
import { partialSumAccumulator } from '../aggregation/partial-sum.js';
import type {
  Aggregator,
  AlgorithmEnv,
  AlgorithmHooks,
  ClientEvaluation,
  ClientState,
  EvalInput,
  FitInput,
  FitResult,
} from './types.js';

/** The state entry the engine keeps a client's personal tensors in. */
export const PERSONAL_STATE = 'personal';

/** θ_g with the client's stored personal tensors written over it (a copy). */
export function withPersonal(
  spec: ParamSpec,
  global: Float32Array,
  personal: TensorSelector,
  state: ClientState | undefined,
): Float32Array {
  const out = global.slice();
  const stored = state?.[PERSONAL_STATE];
  if (stored) scatterTensors(spec, out, personal, stored);
  return out;
}

/** The state to persist after training: the personal tensors of the trained model. */
export function personalStateOf(spec: ParamSpec, personal: TensorSelector, trained: Float32Array): ClientState {
  return subSpec(spec, personal).size === 0 ? {} : { [PERSONAL_STATE]: gatherTensors(spec, trained, personal) };
}

/**
 * Sample-count-weighted mean of the shared tensors (FedAvg); everything else keeps the previous
 * global values. Accumulates in float64 in the order updates arrive (the engine feeds them in
 * client order), so the result does not depend on which worker finished first.
 */
export function weightedMeanAggregator(
  spec: ParamSpec,
  shared: TensorSelector,
  previousGlobal: Float32Array,
  opts: { weighted: boolean } = { weighted: true },
): Aggregator & Required<Pick<Aggregator, 'addPartial'>> {
  const size = subSpec(spec, shared).size;
  const total = partialSumAccumulator(size, { weighted: opts.weighted });
  return {
    add: (update) => total.add(update),
    addPartial: (partial) => total.addPartial(partial),
    finish() {
      const { sum, weight } = total.result();
      const next = previousGlobal.slice();
      if (weight === 0) return next;
      const mean = new Float32Array(size);
      for (let i = 0; i < size; i++) mean[i] = sum[i]! / weight;
      scatterTensors(spec, next, shared, mean);
      return next;
    },
  };
}

/**
 * An algorithm's aggregation when it is the weighted mean of its uploads: the aggregator and the
 * declaration that lets workers sum a cohort's uploads into one partial before it.
 */
export function weightedMeanAggregation(
  spec: ParamSpec,
  shared: TensorSelector,
  opts: { weighted: boolean } = { weighted: true },
): Pick<AlgorithmHooks, 'createAggregator' | 'sumAggregation'> {
  return {
    createAggregator: (previousGlobal) => weightedMeanAggregator(spec, shared, previousGlobal, opts),
    sumAggregation: { weighted: opts.weighted },
  };
}

/** Plain local SGD from the start model with the experiment's settings (optionally hooked). */
export async function sgdFit(env: AlgorithmEnv, input: FitInput, hooks?: TrainHooks): Promise<FitResult> {
  const r = await trainLocal(env.model, input.start, input.train, { ...env.train, seed: input.seed }, hooks);
  return { trained: r.params, loss: r.loss, steps: r.steps };
}

/**
 * Evaluates the client's model (θ_g + its personal tensors) on its test split, and θ_g alone
 * when the algorithm has personal tensors and a meaningful global model.
 */
export async function personalizedEvaluate(
  env: AlgorithmEnv,
  hooks: Pick<AlgorithmHooks, 'personal' | 'hasGlobalModel'>,
  input: EvalInput,
): Promise<ClientEvaluation> {
  const spec = env.model.spec;
  const hasPersonal = subSpec(spec, hooks.personal).size > 0;
  const own = hasPersonal ? withPersonal(spec, input.global, hooks.personal, input.state) : input.global;
  const personalized = await evaluate(env.model, own, input.test);
  if (!hasPersonal || !hooks.hasGlobalModel) {
    return hooks.hasGlobalModel ? { personalized, global: personalized } : { personalized };
  }
  return { personalized, global: await evaluate(env.model, input.global, input.test) };
}

/** Evaluates before and after fine-tuning all parameters on the client's train split (docs/specs/protocol.md). */
export async function finetuneEvaluate(
  env: AlgorithmEnv,
  start: Float32Array,
  input: EvalInput,
): Promise<{ before: Awaited<ReturnType<typeof evaluate>>; after: Awaited<ReturnType<typeof evaluate>> }> {
  const before = await evaluate(env.model, start, input.test);
  const tuned = await trainLocal(env.model, start, input.train, {
    sgd: env.finetune.sgd,
    batchSize: env.train.batchSize,
    dropLast: env.train.dropLast,
    epochs: env.finetune.epochs,
    seed: input.seed,
  });
  const after = await evaluate(env.model, tuned.params, input.test);
  return { before, after };
}

/** FedAvg's hooks over a given shared/personal split: the base most algorithms override. */
export function fedAvgHooks(
  env: AlgorithmEnv,
  split: { personal: TensorSelector; shared: TensorSelector; hasGlobalModel?: boolean },
): AlgorithmHooks {
  const hooks: AlgorithmHooks = {
    personal: split.personal,
    shared: split.shared,
    upload: 'model',
    hasGlobalModel: split.hasGlobalModel ?? true,
    ...weightedMeanAggregation(env.model.spec, split.shared),
    fit: (input) => sgdFit(env, input),
    evaluate: (input) => personalizedEvaluate(env, hooks, input),
  };
  return hooks;
}

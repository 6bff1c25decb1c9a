import { z } from 'zod';
import { selectAll, selectNone } from '../params/spec.js';
import { fedAvgHooks, finetuneEvaluate } from './base.js';
import type { Algorithm, AlgorithmEnv, ClientEvaluation, EvalInput } from './types.js';

/**
 * θ_g evaluated before and after fine-tuning all of it on the client's train split (docs/specs/protocol.md);
 * the fine-tuned model is the client's personalised one and is discarded afterwards.
 */
export async function finetunedEvaluation(env: AlgorithmEnv, input: EvalInput): Promise<ClientEvaluation> {
  const { before, after } = await finetuneEvaluate(env, input.global, input);
  return { personalized: after, global: before, before, after };
}

/** FedAvg training; personalisation happens only at evaluation, by fine-tuning θ_g per client. */
export const fedavgFt: Algorithm<Record<string, never>> = {
  name: 'fedavg-ft',
  summary: 'FedAvg-FT: FedAvg, evaluated before/after fine-tuning θ_g on each client',
  options: z.object({}).strict(),
  aggregatesByWeightedMean: true,
  create(env) {
    const base = fedAvgHooks(env, { personal: selectNone, shared: selectAll });
    return { ...base, evaluate: (input) => finetunedEvaluation(env, input) };
  },
};

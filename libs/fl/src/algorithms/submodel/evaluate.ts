import { evaluate } from '../../train/evaluate.js';
import type { EvalResult } from '../../train/types.js';
import type { AlgorithmEnv, ClientEvaluation, EvalInput } from '../types.js';
import type { CapacityPlan } from './capacities.js';
import { localResultName, sizeResultName } from './capacities.js';

/**
 * One client's evaluation of a nested-submodel method, on its own test split:
 * - `personalized`: the submodel of the client's own size (pooled over clients: FIARSE's "Local");
 * - `local_<β>` for the client's own β only, so the pooled `local_<β>` is the accuracy of the
 *   clients of capacity β ("local accuracy at β");
 * - `size_<β>` for every size in `sizes` (pooled over all clients, i.e. on the union of the
 *   test splits: "global accuracy at β"; sizes nobody trained show the nesting);
 * - `global`: the full model θ_g.
 * Each distinct size is evaluated once.
 */
export async function evaluateSubmodels(
  env: AlgorithmEnv,
  input: EvalInput,
  opts: { plan: CapacityPlan; sizes: readonly number[]; maskedAt: (beta: number) => Float32Array },
): Promise<ClientEvaluation> {
  const cache = new Map<number, EvalResult>();
  const at = async (beta: number): Promise<EvalResult> => {
    let r = cache.get(beta);
    if (!r) {
      const params = beta === 1 ? input.global : opts.maskedAt(beta);
      r = await evaluate(env.model, params, input.test);
      cache.set(beta, r);
    }
    return r;
  };
  const own = opts.plan.betaOf(input.clientId);
  const out: Record<string, EvalResult> = {};
  const personalized = await at(own);
  out[localResultName(own)] = personalized;
  for (const beta of opts.sizes) out[sizeResultName(beta)] = await at(beta);
  out['global'] = await at(1);
  return { ...out, personalized };
}

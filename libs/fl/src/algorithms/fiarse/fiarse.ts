import { z } from 'zod';
import { selectAll, selectNone } from '../../params/spec.js';
import { trainLocal } from '../../train/sgd.js';
import { elementwiseDeltaAggregation } from '../submodel/aggregator.js';
import { capacitiesSchema, capacityPlan, evalSizesSchema, evaluationSizes } from '../submodel/capacities.js';
import { evaluateSubmodels } from '../submodel/evaluate.js';
import { applyMask, maskSize, restoreOutside, submodelBytes } from '../submodel/masks.js';
import { overriddenLocalWorkSamples, overriddenTrainOptions, trainOverrideShape } from '../submodel/train-options.js';
import type { Algorithm, AlgorithmHooks, Instruction } from '../types.js';
import { tcbTrainHooks } from './tcb-gd.js';
import { checkThresholds, MagnitudeIndexCache, submodelElements, thresholdMask } from './threshold.js';

/**
 * FIARSE (Wu et al., NeurIPS 2024; docs/specs/fiarse.md): model-heterogeneous FL where a client of
 * capacity β trains the β-fraction of weights with the largest magnitude.
 *
 * - Server, per client per round (`instruct`): θ_thr from θ_g at the client's β, sent as the
 *   instruction's meta `{ beta, thresholds }` (one θ per spec tensor; equal for all maskable
 *   tensors in the default global mode; 0 = unmasked). The report gives the kept element count
 *   and the bytes a download of only the submodel would take.
 * - Client (`fit`): SGD with TCB-GD (tcb-gd.ts); the mask is recomputed from the current weights
 *   at every step. Elements outside the submodel at the start get exactly zero delta.
 * - Upload: Δ = start − trained; aggregation per element over the clients whose Δ ≠ 0.
 * - Evaluation: own-size submodel (`personalized`, `local_<β>`), every trained and extra size
 *   (`size_<β>`), and the full model (`global`).
 *
 * A client's capacity class is a pure function of its id (capacities.ts), so the coordinator can
 * route its jobs: with `routeByCapacity`, `poolOf` names the class's worker pool.
 */
export const fiarseOptionsSchema = z
  .object({
    capacities: capacitiesSchema,
    /** route each client's train jobs to its capacity class's pool (workers must serve those pools) */
    routeByCapacity: z.boolean().default(false),
    /** `global`: one θ_thr over all maskable elements (spec default); `layer`: one per layer */
    threshold: z.enum(['global', 'layer']).default('global'),
    /** η_g */
    serverLr: z.number().positive().default(1),
    evalSizes: evalSizesSchema,
    ...trainOverrideShape,
  })
  .strict();
export type FiarseOptions = z.output<typeof fiarseOptionsSchema>;

const instructionMetaSchema = z.object({
  beta: z.number().gt(0).max(1),
  thresholds: z.array(z.number().finite().min(0)),
});

export const fiarse: Algorithm<FiarseOptions> = {
  name: 'fiarse',
  summary: 'FIARSE: magnitude-threshold submodels per client capacity, TCB-GD, element-wise delta averaging',
  options: fiarseOptionsSchema,
  create(env, options): AlgorithmHooks {
    const spec = env.model.spec;
    const plan = capacityPlan(options.capacities, env.numClients);
    const sizes = evaluationSizes(options.capacities, options.evalSizes);
    const magnitudes = new MagnitudeIndexCache(spec, options.threshold);

    const hooks: AlgorithmHooks = {
      personal: selectNone,
      shared: selectAll,
      upload: 'delta',
      hasGlobalModel: true,
      trainState: [],
      ...(options.routeByCapacity ? { poolOf: (clientId: number) => plan.poolOf(clientId) } : {}),
      localWorkSamples: (numTrain) => overriddenLocalWorkSamples(env, options, numTrain),
      transferBytes(clientId) {
        const bytes = submodelBytes(submodelElements(spec, plan.betaOf(clientId), options.threshold), spec.size);
        return { download: bytes, upload: bytes };
      },

      instruct({ clientId, global }) {
        const beta = plan.betaOf(clientId);
        const index = magnitudes.get(global);
        const thresholds = index.thresholds(beta);
        const kept = maskSize(thresholdMask(spec, global, thresholds));
        const instruction: Instruction = { meta: { beta, thresholds }, arrays: {} };
        return {
          instruction,
          report: {
            beta,
            threshold: options.threshold === 'global' ? Math.max(...thresholds) : null,
            kept,
            keptFraction: kept / spec.size,
            submodelBytes: submodelBytes(kept, spec.size),
            fullBytes: spec.size * 4,
            ...(options.routeByCapacity ? { pool: plan.poolOf(clientId) } : {}),
          },
        };
      },

      ...elementwiseDeltaAggregation(spec, selectAll, { serverLr: options.serverLr }),

      async fit(input) {
        if (!input.instruction) {
          throw new Error(`fiarse: the train job of client ${input.clientId} (round ${input.round}) has no instruction`);
        }
        const parsed = instructionMetaSchema.safeParse(input.instruction.meta);
        if (!parsed.success) {
          throw new Error(`fiarse: bad instruction for client ${input.clientId}: ${z.prettifyError(parsed.error)}`);
        }
        const { beta, thresholds } = parsed.data;
        checkThresholds(spec, thresholds);
        const expected = plan.betaOf(input.clientId);
        if (beta !== expected) {
          throw new Error(`fiarse: instruction says β = ${beta} for client ${input.clientId}, its capacity is β = ${expected}`);
        }
        const opts = overriddenTrainOptions(env, options, input.seed);
        const masked = thresholds.some((t) => t > 0);
        const r = await trainLocal(env.model, input.start, input.train, opts, masked ? tcbTrainHooks(thresholds) : {});
        if (masked) restoreOutside(r.params, input.start, thresholdMask(spec, input.start, thresholds));
        return { trained: r.params, loss: r.loss, steps: r.steps };
      },

      evaluate: (input) =>
        evaluateSubmodels(env, input, {
          plan,
          sizes,
          maskedAt: (beta) => {
            const thresholds = magnitudes.get(input.global).thresholds(beta);
            return applyMask(input.global, thresholdMask(spec, input.global, thresholds));
          },
        }),
    };
    return hooks;
  },
};

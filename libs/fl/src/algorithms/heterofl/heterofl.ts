import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { selectAll, selectNone } from '../../params/spec.js';
import { trainLocal } from '../../train/sgd.js';
import { elementwiseDeltaAggregation } from '../submodel/aggregator.js';
import { capacitiesSchema, capacityPlan, evalSizesSchema, evaluationSizes } from '../submodel/capacities.js';
import { evaluateSubmodels } from '../submodel/evaluate.js';
import { applyMask, maskSize, restoreOutside, submodelBytes } from '../submodel/masks.js';
import { overriddenLocalWorkSamples, overriddenTrainOptions, trainOverrideShape } from '../submodel/train-options.js';
import type { Algorithm, AlgorithmHooks } from '../types.js';
import { widthMask } from './width-mask.js';

/**
 * HeteroFL (Diao et al., ICLR 2021), the baseline of docs/specs/fiarse.md: a client of capacity β
 * trains the width-sliced submodel (first ⌈β·c⌉ channels of every layer, width-mask.ts),
 * simulated exactly by masking. Uploads are deltas (zero outside the slice); each element is
 * averaged, unweighted, over the round's clients whose slice holds it, and elements no client
 * holds keep their value. Same capacities, routing and evaluation names as FIARSE.
 *
 * What β means: by default (the spec's wording) the width ratio, so a submodel holds about β²
 * of the parameters. FIARSE's sizes are parameter fractions (its size lists are squares:
 * {1/64, 1/16, 1/4, 1} = {1/8, 1/4, 1/2, 1}²), so `width: sqrtBeta` slices ⌈√β·c⌉ channels
 * for a parameter-matched comparison at the same nominal β; the comparison configs use it.
 *
 * Not modelled: HeteroFL's static batch norm (these models have no normalisation), its output
 * "scaler" (training-time 1/β rescaling) and masked cross-entropy over a client's labels.
 */
export const heteroflOptionsSchema = z
  .object({
    capacities: capacitiesSchema,
    /** route each client's train jobs to its capacity class's pool (workers must serve those pools) */
    routeByCapacity: z.boolean().default(false),
    /** channel fraction of a size-β submodel: β (spec default) or √β (about β of the parameters) */
    width: z.enum(['beta', 'sqrtBeta']).default('beta'),
    evalSizes: evalSizesSchema,
    ...trainOverrideShape,
  })
  .strict();
export type HeteroflOptions = z.output<typeof heteroflOptionsSchema>;

export const heterofl: Algorithm<HeteroflOptions> = {
  name: 'heterofl',
  summary: 'HeteroFL: width-sliced submodels per client capacity, element-wise averaging over holders',
  options: heteroflOptionsSchema,
  create(env, options): AlgorithmHooks {
    const spec = env.model.spec;
    const plan = capacityPlan(options.capacities, env.numClients);
    const sizes = evaluationSizes(options.capacities, options.evalSizes);
    const masks = new Map<number, Uint8Array>();
    const maskAt = (beta: number): Uint8Array => {
      let m = masks.get(beta);
      if (!m) {
        m = widthMask(spec, options.width === 'sqrtBeta' ? Math.sqrt(beta) : beta);
        masks.set(beta, m);
      }
      return m;
    };

    return {
      personal: selectNone,
      shared: selectAll,
      upload: 'delta',
      hasGlobalModel: true,
      trainState: [],
      ...(options.routeByCapacity ? { poolOf: (clientId: number) => plan.poolOf(clientId) } : {}),
      localWorkSamples: (numTrain) => overriddenLocalWorkSamples(env, options, numTrain),
      transferBytes(clientId) {
        const bytes = submodelBytes(maskSize(maskAt(plan.betaOf(clientId))), spec.size);
        return { download: bytes, upload: bytes };
      },

      ...elementwiseDeltaAggregation(spec, selectAll, { serverLr: 1, holders: (clientId) => maskAt(plan.betaOf(clientId)) }),

      async fit(input) {
        const keep = maskAt(plan.betaOf(input.clientId));
        const opts = overriddenTrainOptions(env, options, input.seed);
        // Per-tensor constant masks, uploaded once per call; unsliced tensors pass through.
        const tensorMasks = spec.tensors.map((t) => {
          const m = keep.subarray(t.offset, t.offset + t.length);
          return m.every((x) => x === 1) ? null : tf.tensor(Float32Array.from(m), [...t.shape]);
        });
        try {
          const sliced = tensorMasks.some((m) => m !== null);
          const r = await trainLocal(
            env.model,
            input.start,
            input.train,
            opts,
            sliced ? { effectiveParams: (vars) => vars.map((v, i) => (tensorMasks[i] ? tf.mul(v, tensorMasks[i]) : v)) } : {},
          );
          restoreOutside(r.params, input.start, keep);
          return { trained: r.params, loss: r.loss, steps: r.steps };
        } finally {
          for (const m of tensorMasks) m?.dispose();
        }
      },

      evaluate: (input) =>
        evaluateSubmodels(env, input, { plan, sizes, maskedAt: (beta) => applyMask(input.global, maskAt(beta)) }),
    };
  },
};

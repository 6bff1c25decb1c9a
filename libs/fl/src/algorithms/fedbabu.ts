import { z } from 'zod';
import { selectNone, selectRole, subSpec } from '../params/spec.js';
import { sgdFit, weightedMeanAggregation } from './base.js';
import { finetunedEvaluation } from './fedavg-ft.js';
import type { Algorithm, AlgorithmHooks } from './types.js';

export const fedbabuOptions = z
  .object({
    /** sample-count-weighted body average (false: plain mean over the participating clients) */
    weighted: z.boolean().default(true),
    /**
     * Keep each client's fine-tuned model after evaluation (PFLlib does after the last round).
     * Not supported: an evaluation job cannot write client state in this engine.
     */
    keepFinetuned: z
      .boolean()
      .default(false)
      .refine((keep) => !keep, {
        message:
          'keepFinetuned=true is not supported: evaluation jobs cannot persist client state; ' +
          'leave it false (the fine-tuned weights are discarded after evaluation, as in the paper)',
      }),
  })
  .strict();
export type FedBabuOptions = z.infer<typeof fedbabuOptions>;

const body = selectRole('body');
const head = selectRole('head');

/**
 * Oh et al. 2022 (docs/specs/fedbabu.md): the head keeps its shared initial value during federated training
 * (frozen: learning rate 0, no weight decay; gradients still flow through it into the body), the
 * body is trained, uploaded and averaged. Personalisation = fine-tuning all of θ_g at evaluation.
 */
export const fedbabu: Algorithm<FedBabuOptions> = {
  name: 'fedbabu',
  summary: 'FedBABU: head frozen at init, body-only training and aggregation, fine-tune at evaluation',
  options: fedbabuOptions,
  aggregatesByWeightedMean: true,
  create(env, { weighted }) {
    const spec = env.model.spec;
    if (subSpec(spec, body).size === 0) {
      throw new Error(
        `fedbabu: model '${env.model.name}' has no body tensors (only a head), so nothing would train; ` +
          `use a model with a feature extractor (mlp, fedavgcnn)`,
      );
    }
    const hooks: AlgorithmHooks = {
      personal: selectNone,
      shared: body,
      upload: 'model',
      hasGlobalModel: true,
      ...weightedMeanAggregation(spec, body, { weighted }),
      fit: (input) => sgdFit(env, input, { lrScale: (t) => (head(t) ? 0 : 1) }),
      evaluate: (input) => finetunedEvaluation(env, input),
    };
    return hooks;
  },
};

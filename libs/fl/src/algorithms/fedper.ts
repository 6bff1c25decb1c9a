import { z } from 'zod';
import { selectRole } from '../params/spec.js';
import { fedAvgHooks } from './base.js';
import type { Algorithm } from './types.js';

/**
 * Arivazhagan et al. 2019: the head is personal (kept per client, never uploaded), the body is
 * FedAvg'd. θ_g's head stays the initial one, so θ_g alone is not reported as a model.
 */
export const fedper: Algorithm<Record<string, never>> = {
  name: 'fedper',
  summary: 'FedPer: aggregate the body, keep a personal head per client',
  options: z.object({}).strict(),
  aggregatesByWeightedMean: true,
  create: (env) =>
    fedAvgHooks(env, { personal: selectRole('head'), shared: selectRole('body'), hasGlobalModel: false }),
};

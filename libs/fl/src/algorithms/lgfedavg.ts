import { z } from 'zod';
import { selectRole } from '../params/spec.js';
import { fedAvgHooks } from './base.js';
import type { Algorithm } from './types.js';

/**
 * Liang et al. 2020: the body (local representation) is personal, the head is FedAvg'd. θ_g's
 * body stays the initial one, so θ_g alone is not reported as a model.
 */
export const lgfedavg: Algorithm<Record<string, never>> = {
  name: 'lgfedavg',
  summary: 'LG-FedAvg: keep a personal body per client, aggregate the head',
  options: z.object({}).strict(),
  aggregatesByWeightedMean: true,
  create: (env) =>
    fedAvgHooks(env, { personal: selectRole('body'), shared: selectRole('head'), hasGlobalModel: false }),
};

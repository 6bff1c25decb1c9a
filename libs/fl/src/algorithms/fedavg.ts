import { z } from 'zod';
import { selectAll, selectNone } from '../params/spec.js';
import { fedAvgHooks } from './base.js';
import type { Algorithm } from './types.js';

/** McMahan et al. 2017: every tensor trained, uploaded and sample-weighted averaged. */
export const fedavg: Algorithm<Record<string, never>> = {
  name: 'fedavg',
  summary: 'FedAvg: train all, aggregate all (sample-weighted), evaluate θ_g',
  options: z.object({}).strict(),
  aggregatesByWeightedMean: true,
  create: (env) => fedAvgHooks(env, { personal: selectNone, shared: selectAll }),
};

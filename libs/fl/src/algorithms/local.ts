import { z } from 'zod';
import { selectAll, selectNone } from '../params/spec.js';
import { fedAvgHooks } from './base.js';
import type { Algorithm } from './types.js';

/**
 * Local-only: every tensor is personal, nothing is uploaded or aggregated; each client trains
 * its own model for the same local epochs per participation (docs/specs/baselines.md).
 */
export const local: Algorithm<Record<string, never>> = {
  name: 'local',
  summary: 'Local-only: each client trains its own model, no communication',
  options: z.object({}).strict(),
  create: (env) => fedAvgHooks(env, { personal: selectAll, shared: selectNone, hasGlobalModel: false }),
};

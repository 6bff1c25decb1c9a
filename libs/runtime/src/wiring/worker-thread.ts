import { z } from 'zod';
import { initCompute } from '@fedsim/fl/compute/index';
import { RunContextCache } from '../engine/run-context.js';
import { createJobHandlers } from '../engine/handlers.js';
import type { JobHandlers } from '../ports/transport.js';
import { createBlobStore } from './create-store.js';
import { storeConfigSchema } from './store-config.js';
import { backendChoiceSchema } from './backend-choice.js';

export const workerThreadDataSchema = z.object({
  store: storeConfigSchema,
  backend: backendChoiceSchema.default('auto'),
  /** overrides the data directory of every run's config (workers may mount data elsewhere) */
  dataDir: z.string().optional(),
  /** log the compute backend once (first thread only) */
  logBackend: z.boolean().default(false),
});
export type WorkerThreadData = z.input<typeof workerThreadDataSchema>;

/** Entry of every compute thread: one backend, one store client and one run cache per thread. */
export async function createHandlers(workerData: unknown): Promise<JobHandlers> {
  const data = workerThreadDataSchema.parse(workerData);
  const compute = await initCompute({
    prefer: data.backend,
    ...(data.logBackend ? { log: (m: string) => console.error(`[compute] ${m}`) } : {}),
  });
  const store = createBlobStore(data.store);
  const contexts = new RunContextCache(store, data.dataDir ? { dataDir: data.dataDir } : {});
  return createJobHandlers({ store, contexts, backend: compute.backend });
}

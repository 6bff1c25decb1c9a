import { z } from 'zod';
import { initCompute, WASM_KERNEL_MODES } from '@fedsim/fl/compute';
import { RunContextCache } from '../engine/run-context.js';
import { createJobHandlers } from '../engine/handlers.js';
import type { JobHandlers } from '../ports/transport.js';
import { createBlobStore } from './create-store.js';
import { storeConfigSchema } from './store-config.js';
import { backendChoiceSchema } from './backend-choice.js';

export const workerThreadDataSchema = z.object({
  store: storeConfigSchema,
  backend: backendChoiceSchema.default('auto'),
  /** the folder holding one folder per data set (the app's FEDSIM_DATA_DIR) */
  dataRoot: z.string().optional(),
  /** wasm gradient kernels ('stock' only for benchmarks) */
  wasmKernels: z.enum(WASM_KERNEL_MODES).default('fast'),
  /** log the compute backend once (first thread only) */
  logBackend: z.boolean().default(false),
});
export type WorkerThreadData = z.input<typeof workerThreadDataSchema>;

/** Entry of every compute thread: one backend, one store client and one run cache per thread. */
export async function createHandlers(workerData: unknown): Promise<JobHandlers> {
  const data = workerThreadDataSchema.parse(workerData);
  const compute = await initCompute({
    prefer: data.backend,
    wasmKernels: data.wasmKernels,
    ...(data.logBackend ? { log: (m: string) => console.error(`[compute] ${m}`) } : {}),
  });
  const store = await createBlobStore(data.store);
  const contexts = new RunContextCache(store, data.dataRoot ? { dataRoot: data.dataRoot } : {});
  return createJobHandlers({ store, contexts, backend: compute.backend });
}

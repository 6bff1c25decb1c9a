import { cpus } from 'node:os';
import { z } from 'zod';
import { backendChoiceSchema } from '@fedsim/runtime/wiring/index';

/** The worker's whole configuration comes from the environment (12-factor; same names in compose and helm). */
export const workerEnvSchema = z.object({
  REDIS_URL: z.string({ error: 'REDIS_URL is required (e.g. redis://127.0.0.1:6379)' }).min(1),
  FEDSIM_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').default('fedsim'),
  FEDSIM_WORKER_POOLS: z
    .string()
    .default('default')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'pool names: letters, digits, ., - and _')).min(1)),
  FEDSIM_WORKER_CONCURRENCY: z.coerce.number().int().positive().default(Math.max(1, cpus().length)),
  FEDSIM_BACKEND: backendChoiceSchema.default('auto'),
  FEDSIM_DATA_DIR: z.string().optional(),
  /** seconds a SIGTERM waits for running jobs before releasing them */
  FEDSIM_SHUTDOWN_GRACE_SECONDS: z.coerce.number().positive().default(60),
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function parseWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnv {
  const r = workerEnvSchema.safeParse(env);
  if (!r.success) {
    throw new Error(`worker configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

import { cpus } from 'node:os';
import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import { WASM_KERNEL_MODES } from '@fedsim/fl/compute';
import { ConfigError } from '@fedsim/runtime';
import { namePartSchema, redisOutageBudgetSecondsSchema } from '@fedsim/runtime/adapters';
import { backendChoiceSchema } from '@fedsim/runtime/wiring';

/**
 * The worker's whole configuration comes from the environment (12-factor; same names in compose
 * and helm). Pool names and the queue prefix follow the queue-naming rule of the BullMQ adapter,
 * so a name the worker accepts is a queue the coordinator can route to.
 */
export const workerEnvSchema = z.object({
  REDIS_URL: z.string({ error: 'is required (e.g. redis://127.0.0.1:6379)' }).min(1),
  FEDSIM_QUEUE_PREFIX: namePartSchema.default('fedsim'),
  FEDSIM_WORKER_POOLS: z
    .string()
    .default('default')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(namePartSchema).min(1)),
  FEDSIM_WORKER_CONCURRENCY: z.coerce.number().int().positive().default(Math.max(1, cpus().length)),
  FEDSIM_BACKEND: backendChoiceSchema.default('auto'),
  FEDSIM_WASM_KERNELS: z.enum(WASM_KERNEL_MODES).default('fast'),
  /** the folder holding one folder per data set (e.g. fashion-mnist/) */
  FEDSIM_DATA_DIR: z.string().min(1).optional(),
  /** seconds a SIGTERM waits for running jobs before releasing them */
  FEDSIM_SHUTDOWN_GRACE_SECONDS: z.coerce.number().positive().default(60),
  /** seconds Redis may stay unreachable before the worker stops (it reconnects with backoff meanwhile) */
  REDIS_OUTAGE_BUDGET_SECONDS: redisOutageBudgetSecondsSchema,
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/** Empty values count as unset (`FEDSIM_DATA_DIR=` in a compose file means none). */
export function parseWorkerEnv(env: Readonly<Record<string, string | undefined>>): WorkerEnv {
  const r = workerEnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!r.success) throw new ConfigError(`worker configuration: ${formatIssues(r.error)}`);
  return r.data;
}

import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import { WASM_KERNEL_MODES } from '@fedsim/fl/compute';
import { ConfigError } from '@fedsim/runtime';
import { backendChoiceSchema } from '@fedsim/runtime/wiring';

/**
 * The coordinator's own environment variables. Distributed runs also read REDIS_URL,
 * FEDSIM_QUEUE_PREFIX and S3_* / AWS_* (parsed by the runtime they configure), and metrics read
 * FEDSIM_METRICS_HOST / _PORT and FEDSIM_PUSHGATEWAY_URL; `raw` carries them there.
 */
const coordinatorEnvSchema = z.object({
  /** default of --backend; the option wins when given */
  FEDSIM_BACKEND: backendChoiceSchema.default('auto'),
  FEDSIM_WASM_KERNELS: z.enum(WASM_KERNEL_MODES).default('fast'),
  /** the folder holding one folder per data set (e.g. fashion-mnist/) */
  FEDSIM_DATA_DIR: z.string().min(1).optional(),
  /** print stack traces of unexpected errors */
  FEDSIM_DEBUG: z.string().optional().transform((v) => v !== undefined && v !== '0' && v.toLowerCase() !== 'false'),
});

export type CoordinatorEnv = z.infer<typeof coordinatorEnvSchema> & {
  readonly raw: Readonly<Record<string, string | undefined>>;
};

/** Empty values count as unset (`FEDSIM_BACKEND=` in a compose file means the default). */
export function parseCoordinatorEnv(env: Readonly<Record<string, string | undefined>>): CoordinatorEnv {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = coordinatorEnvSchema.safeParse(set);
  if (!r.success) throw new ConfigError(`environment: ${formatIssues(r.error)}`);
  return { ...r.data, raw: set };
}

import { cpus } from 'node:os';
import { resolve } from 'node:path';
import type { BackendChoice, Runtime } from '@fedsim/runtime/wiring';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import type { CoordinatorEnv } from './env.js';

/** What every command that runs experiments says about where they run. */
export interface RuntimeChoice {
  readonly distributed: boolean;
  /** embedded: the folder that holds runs/ (the local store) */
  readonly out: string;
  /** embedded: compute threads (default: min(cores, 2)) */
  readonly workers?: number;
  readonly backend: BackendChoice;
}

type Instrument = NonNullable<Parameters<typeof embeddedRuntime>[0]['instrument']>;

/** Where data sets live (FEDSIM_DATA_DIR), for the compute threads and the runs' own partitioning. */
export const dataOf = (env: CoordinatorEnv): { dataRoot?: string } => (env.FEDSIM_DATA_DIR ? { dataRoot: env.FEDSIM_DATA_DIR } : {});

/** Redis + S3 workers (REDIS_URL, S3_*), or compute threads over a local folder. */
export async function openRuntime(choice: RuntimeChoice, env: CoordinatorEnv, instrument?: Instrument): Promise<Runtime> {
  if (choice.distributed) return distributedRuntime(env.raw);
  return embeddedRuntime({
    root: resolve(choice.out),
    workers: choice.workers ?? Math.max(1, Math.min(cpus().length, 2)),
    backend: choice.backend,
    wasmKernels: env.FEDSIM_WASM_KERNELS,
    ...dataOf(env),
    ...(instrument ? { instrument } : {}),
  });
}

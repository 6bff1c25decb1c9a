import { resolve } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import type { WasmKernelMode } from '@fedsim/fl/compute';
import { BullmqTransport, EmbeddedTransport, LocalDirBlobStore, namePartSchema, redisOutageBudgetSecondsSchema, S3BlobStore } from '../adapters/index.js';
import { ConfigError } from '../errors/run.js';
import { ThreadPoolHandlers } from '../pool/index.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { FlowTransport, JobHandlers } from '../ports/transport.js';
import { workerThreadEntry } from './worker-thread-entry.js';
import type { WorkerThreadData } from './worker-thread.js';

/** A store and a transport for the coordinator, and how to release them. */
/**
 * A compute thread's tensors live on the wasm heap; its JS heap holds short-lived bookkeeping, so
 * V8's default young generation (which grows to tens of MiB per isolate) only inflates RSS: a
 * 2 MiB one took 60–90 MiB off the 20-client round's peak (`npm run bench:train -- --round`)
 * without a measurable cost in CPU time.
 */
const COMPUTE_THREAD_LIMITS = { maxYoungGenerationSizeMb: 2 } as const;

export interface Runtime {
  readonly store: BlobStore;
  readonly transport: FlowTransport;
  readonly description: string;
  close(): Promise<void>;
}

export { backendChoiceSchema, type BackendChoice } from './backend-choice.js';
import type { BackendChoice } from './backend-choice.js';

/**
 * Everything in one process: a local-directory store under `root` and an in-process queue whose
 * jobs run on `workers` compute threads (the same job handlers a distributed worker runs).
 */
export async function embeddedRuntime(opts: {
  root: string;
  workers: number;
  backend?: BackendChoice;
  /** the folder holding one folder per data set (FEDSIM_DATA_DIR) */
  dataRoot?: string;
  /** wasm gradient kernels ('stock' only for benchmarks) */
  wasmKernels?: WasmKernelMode;
  /** wraps the compute threads' handlers, e.g. with job metrics */
  instrument?: (handlers: JobHandlers) => JobHandlers;
}): Promise<Runtime> {
  const root = resolve(opts.root);
  const store = new LocalDirBlobStore(root);
  await store.check();
  const workerData: WorkerThreadData = {
    store: { kind: 'dir', root },
    backend: opts.backend ?? 'auto',
    ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
    ...(opts.wasmKernels ? { wasmKernels: opts.wasmKernels } : {}),
    logBackend: true,
  };
  const handlers = new ThreadPoolHandlers({ entry: workerThreadEntry(), size: opts.workers, workerData, resourceLimits: COMPUTE_THREAD_LIMITS });
  const transport = new EmbeddedTransport({
    handlers: opts.instrument ? opts.instrument(handlers) : handlers,
    concurrency: opts.workers,
  });
  return {
    store,
    transport,
    description: `embedded: ${opts.workers} compute thread(s), store ${store.describe()}`,
    async close() {
      await transport.close();
      await handlers.close();
    },
  };
}

export const distributedEnvSchema = z.object({
  REDIS_URL: z.string({ error: 'is required for a distributed run (e.g. redis://127.0.0.1:6379)' }).min(1),
  FEDSIM_QUEUE_PREFIX: namePartSchema.default('fedsim'),
  /** seconds Redis may stay unreachable before the run stops (BullMQ reconnects with backoff meanwhile) */
  REDIS_OUTAGE_BUDGET_SECONDS: redisOutageBudgetSecondsSchema,
});

/**
 * Coordinator side of a distributed run: BullMQ over REDIS_URL, S3 from the S3_* variables of
 * `env` (the app's environment, passed in). Fails fast.
 */
export async function distributedRuntime(env: Readonly<Record<string, string | undefined>>): Promise<Runtime> {
  const parsed = distributedEnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`distributed run: ${formatIssues(parsed.error)}`);
  const store = S3BlobStore.fromEnv(env);
  const transport = new BullmqTransport({
    connection: parsed.data.REDIS_URL,
    prefix: parsed.data.FEDSIM_QUEUE_PREFIX,
    redisOutageBudgetMs: parsed.data.REDIS_OUTAGE_BUDGET_SECONDS * 1000,
  });
  try {
    await Promise.all([store.check(), transport.check()]);
  } catch (err) {
    await transport.close().catch(() => undefined);
    store.close();
    throw err;
  }
  return {
    store,
    transport,
    description: `distributed: queues '${parsed.data.FEDSIM_QUEUE_PREFIX}-*' on Redis, store ${store.describe()}`,
    async close() {
      await transport.close();
      store.close();
    },
  };
}

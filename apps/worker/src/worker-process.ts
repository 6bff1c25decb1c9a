import {
  blobStoreProbe, checkDependencies, dependencyReadiness, maskSecrets, redisProbe, S3BlobStore, startBullmqWorkers,
} from '@fedsim/runtime/adapters';
import { ThreadPoolHandlers } from '@fedsim/runtime/pool';
import type { JobHandlers } from '@fedsim/runtime';
import type { WorkerThreadData } from '@fedsim/runtime/wiring';
import { s3EnvOf, workerThreadEntry } from '@fedsim/runtime/wiring';
import {
  createFedsimMetrics,
  instrumentHandlers,
  readObservabilityEnv,
  startObservabilityServer,
} from '@fedsim/runtime/observability';
import { parseWorkerEnv } from './env.js';

const log = (msg: string) => console.error(`[worker ${process.pid}] ${maskSecrets(msg)}`);

export interface WorkerProcessOptions {
  /**
   * Wraps the compute threads' handlers inside the job metrics; tests use it to make chosen
   * jobs fail or misreport, so failures are measured exactly like real ones.
   */
  readonly decorateHandlers?: (handlers: JobHandlers) => JobHandlers;
}

/**
 * A worker process: BullMQ consumers on the main thread (they only await, so lock renewal never
 * starves) and the CPU work on FEDSIM_WORKER_CONCURRENCY compute threads.
 */
export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<void> {
  const env = parseWorkerEnv(process.env);
  // Bad metrics port / Pushgateway settings fail here, before anything connects.
  const observability = readObservabilityEnv(process.env, 'worker');
  const store = S3BlobStore.fromEnv(process.env);
  // Unreachable, silent or refusing Redis/S3: exit now, saying which and why, instead of hanging.
  const dependencies = [redisProbe(env.REDIS_URL, { log }), blobStoreProbe(store)];
  await checkDependencies(dependencies);
  const metrics = createFedsimMetrics({ role: 'worker' });
  const pool = env.FEDSIM_WORKER_POOLS.join('+');
  const initialBackend = env.FEDSIM_BACKEND === 'auto' ? 'wasm' : env.FEDSIM_BACKEND;
  const workerData: WorkerThreadData = {
    store: { kind: 's3', env: s3EnvOf(process.env) },
    backend: env.FEDSIM_BACKEND,
    wasmKernels: env.FEDSIM_WASM_KERNELS,
    ...(env.FEDSIM_DATA_DIR ? { dataRoot: env.FEDSIM_DATA_DIR } : {}),
    logBackend: true,
  };
  const handlers = new ThreadPoolHandlers({ entry: workerThreadEntry(), size: env.FEDSIM_WORKER_CONCURRENCY, workerData });
  const workers = await startBullmqWorkers({
    connection: env.REDIS_URL,
    prefix: env.FEDSIM_QUEUE_PREFIX,
    handlers: instrumentHandlers(options.decorateHandlers?.(handlers) ?? handlers, metrics, { pool, backend: initialBackend }),
    pools: env.FEDSIM_WORKER_POOLS,
    concurrency: env.FEDSIM_WORKER_CONCURRENCY,
    // Hand unfinished jobs back before the grace period ends, so they rerun at once, not after stall detection.
    closeTimeoutMs: Math.max(1_000, env.FEDSIM_SHUTDOWN_GRACE_SECONDS * 1000 - 2_000),
    redisOutageBudgetMs: env.REDIS_OUTAGE_BUDGET_SECONDS * 1000,
    log,
  });
  // Redis gone past its budget: stop (the message is already logged) so an orchestrator restarts
  // the worker, which then fails fast until Redis is back; its jobs are rerun by stall detection.
  workers.redisLost.catch(() => process.exit(1));
  metrics.setWorkerConcurrency(pool, initialBackend, env.FEDSIM_WORKER_CONCURRENCY);
  metrics.trackQueueDepths(() => workers.queueDepths());
  let stopping = false;
  const ready = dependencyReadiness(dependencies);
  const server = await startObservabilityServer({
    host: observability.host,
    port: observability.port,
    registry: metrics.registry,
    ready: async () => (stopping ? 'shutting down' : ready()),
    ...(observability.pushgatewayUrl
      ? { pushgateway: { url: observability.pushgatewayUrl, jobName: 'fedsim-worker', groupings: { pool } } }
      : {}),
  });
  log(`metrics on ${server.url}/metrics`);
  log(`serving pools ${env.FEDSIM_WORKER_POOLS.join(', ')} with ${env.FEDSIM_WORKER_CONCURRENCY} compute thread(s); store ${store.describe()}`);

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing current jobs (up to ${env.FEDSIM_SHUTDOWN_GRACE_SECONDS}s), then exiting`);
    const timer = setTimeout(() => {
      log('grace period over: exiting; unfinished jobs return to the queue as stalled and are retried');
      process.exit(1);
    }, env.FEDSIM_SHUTDOWN_GRACE_SECONDS * 1000);
    timer.unref();
    await workers.close();
    await handlers.close();
    await server.close();
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}


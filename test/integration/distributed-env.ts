import { startRedis, startS3, type RedisHandle, type S3Handle } from '../harness/index.js';
import { spawnWorker, waitUntilServing, type WorkerProcess } from './workers.js';

/** Redis + S3 on loopback and N worker processes (one compute thread each) serving them. */
export interface DistributedEnv {
  readonly env: Record<string, string>;
  readonly workers: readonly WorkerProcess[];
  stop(): Promise<void>;
}

export async function startDistributedEnv(
  workerCount: number,
  overrides: Record<string, string> = {},
  /** the worker program, relative to the repository root (default: the real worker) */
  workerEntry?: string,
): Promise<DistributedEnv> {
  const [redis, s3]: [RedisHandle, S3Handle] = await Promise.all([startRedis(), startS3()]);
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    FEDSIM_QUEUE_PREFIX: redis.prefix,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    FEDSIM_BACKEND: 'wasm',
    FEDSIM_WORKER_CONCURRENCY: '1',
    // Port 0: each worker's metrics server takes a free port, so several can share a machine.
    FEDSIM_METRICS_PORT: '0',
    ...overrides,
  };
  const workers = Array.from({ length: workerCount }, () => spawnWorker(env, workerEntry));
  try {
    await waitUntilServing(workers);
  } catch (err) {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([redis.stop(), s3.stop()]);
    throw err;
  }
  return {
    env,
    workers,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all([redis.stop(), s3.stop()]);
    },
  };
}

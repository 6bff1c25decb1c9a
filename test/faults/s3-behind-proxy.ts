import { initCompute } from '@fedsim/fl/compute';
import type { ExperimentConfig, RunObserver, RunSummary } from '@fedsim/runtime';
import { createJobHandlers, keys, RunContextCache, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, parseS3Env, S3BlobStore } from '@fedsim/runtime/adapters';
import { startS3 } from '../harness/index.js';
import type { S3Handle } from '../harness/index.js';
import { startFaultProxy } from './proxy.js';
import type { Fault, FaultProxy } from './proxy.js';

/** An s3rver with a fault proxy in front; clients reach S3 only through the proxy. */
export interface S3BehindProxy {
  readonly s3: S3Handle;
  readonly proxy: FaultProxy;
  /** S3_* / AWS_* variables pointing at the proxy */
  env(overrides?: Record<string, string>): Record<string, string>;
  /**
   * Turns `fault` on for `forMs` as soon as the first client update of `round` is in S3 (seen
   * past the proxy): the other clients are then still training or queued and the aggregation has
   * not run, so the fault hits the job handlers, not only the coordinator. Returns a cancel.
   */
  injectMidRound(runId: string, round: number, fault: Fault, forMs: number): () => void;
  stop(): Promise<void>;
}

export async function startS3BehindProxy(): Promise<S3BehindProxy> {
  const s3 = await startS3();
  const upstream = new URL(s3.endpoint);
  const proxy = await startFaultProxy({ host: upstream.hostname, port: Number(upstream.port) });
  const env = (overrides: Record<string, string> = {}) => ({
      S3_ENDPOINT: proxy.url('http'),
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      ...overrides,
  });
  return {
    s3,
    proxy,
    env,
    injectMidRound(runId, round, fault, forMs) {
      const direct = new S3BlobStore(parseS3Env(env({ S3_ENDPOINT: s3.endpoint })));
      const prefix = keys.update(runId, round, 0, 0).replace(/updates\/.*$/, 'updates/');
      let cancelled = false;
      void (async () => {
        while (!cancelled) {
          if ((await direct.list(prefix).catch(() => [])).length > 0) {
            proxy.inject(fault, forMs);
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        direct.close();
      })();
      return () => {
        cancelled = true;
      };
    },
    async stop() {
      await proxy.close();
      await s3.stop();
    },
  };
}

export interface S3RunOptions {
  readonly runId: string;
  /** S3_* settings of both the coordinator's and the job handlers' stores */
  readonly env: Record<string, string>;
  readonly observer?: RunObserver;
  /** log lines of the coordinator's store (outage start/end, give-up) */
  readonly coordinatorLog?: (line: string) => void;
  /** log lines of the job handlers' store */
  readonly workerLog?: (line: string) => void;
}

/**
 * A run whose coordinator and job handlers each have their own S3 client (through the proxy),
 * with the in-process queue and the handlers on this thread: the distributed storage path
 * without Redis or worker processes, cheap enough for many fault cases on a small machine.
 */
export async function runOnS3(config: ExperimentConfig, opts: S3RunOptions): Promise<RunSummary> {
  const options = parseS3Env(opts.env);
  const coordinatorStore = new S3BlobStore({ ...options, ...(opts.coordinatorLog ? { log: opts.coordinatorLog } : {}) });
  const workerStore = new S3BlobStore({ ...options, ...(opts.workerLog ? { log: opts.workerLog } : {}) });
  const compute = await initCompute({ prefer: 'wasm' });
  const handlers = createJobHandlers({ store: workerStore, contexts: new RunContextCache(workerStore), backend: compute.backend });
  const transport = new EmbeddedTransport({ handlers, concurrency: 2 });
  try {
    return await runExperiment(config, {
      runId: opts.runId,
      store: coordinatorStore,
      transport,
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
  } finally {
    await transport.close();
    coordinatorStore.close();
    workerStore.close();
  }
}

import { z } from 'zod';
import type { ExperimentConfig, FlowTransport, JobHandlers, RunObserver } from '@fedsim/runtime';
import type { FedsimMetrics, HttpMount, ObservabilityServer } from '@fedsim/runtime/observability';
import {
  createFedsimMetrics,
  instrumentHandlers,
  metricsObserver,
  readObservabilityEnv,
  startObservabilityServer,
} from '@fedsim/runtime/observability';
import { distributedEnvSchema } from '@fedsim/runtime/wiring';

export const QUEUE_BOARD_MODES = ['off', 'read-only', 'read-write'] as const;
export type QueueBoardMode = (typeof QUEUE_BOARD_MODES)[number];

/** --queue-board beats FEDSIM_QUEUE_BOARD; both default to off. */
export function queueBoardMode(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): QueueBoardMode {
  const [source, raw] = flag !== undefined ? ['--queue-board', flag] : ['FEDSIM_QUEUE_BOARD', env['FEDSIM_QUEUE_BOARD']?.trim() || 'off'];
  const parsed = z.enum(QUEUE_BOARD_MODES).safeParse(raw);
  if (!parsed.success) throw new Error(`${source}: '${raw.slice(0, 40)}' is not one of ${QUEUE_BOARD_MODES.join(', ')}`);
  return parsed.data;
}

export interface CoordinatorObservability {
  readonly metrics: FedsimMetrics;
  readonly observer: RunObserver;
  /** for the embedded runtime: job metrics of the in-process compute threads */
  instrument(handlers: JobHandlers): JobHandlers;
  /** starts serving once the transport exists (queue depths come from it) */
  serve(transport: FlowTransport, ready: () => Promise<true | string>): Promise<ObservabilityServer | null>;
}

/**
 * /metrics, /healthz and /readyz for the coordinator: always for distributed runs, for embedded
 * ones when a port is given (--metrics-port or FEDSIM_METRICS_PORT), so a laptop demo opens no port.
 */
export function coordinatorObservability(opts: {
  config: ExperimentConfig;
  /** the process environment (FEDSIM_METRICS_HOST/_PORT, FEDSIM_PUSHGATEWAY_URL, FEDSIM_QUEUE_BOARD); default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  distributed: boolean;
  metricsPort?: string;
  /** --queue-board (else FEDSIM_QUEUE_BOARD): Bull Board under /queues on the metrics port */
  queueBoard?: string;
  log: (m: string) => void;
}): CoordinatorObservability {
  const metrics = createFedsimMetrics({ role: 'coordinator' });
  const env = { ...(opts.env ?? process.env), ...(opts.metricsPort !== undefined ? { FEDSIM_METRICS_PORT: opts.metricsPort } : {}) };
  const enabled = opts.distributed || env['FEDSIM_METRICS_PORT'] !== undefined;
  // Fail on a bad port or Pushgateway before any work starts.
  const settings = enabled ? readObservabilityEnv(env, 'coordinator') : null;
  let boardMode = queueBoardMode(opts.queueBoard, env);
  if (boardMode !== 'off' && !opts.distributed) {
    // an explicit flag is a mistake worth stopping for; an environment-wide setting is not
    if (opts.queueBoard !== undefined) throw new Error('--queue-board needs --distributed (an embedded run has no BullMQ queues)');
    opts.log('FEDSIM_QUEUE_BOARD ignored: an embedded run has no BullMQ queues');
    boardMode = 'off';
  }
  return {
    metrics,
    observer: metricsObserver(metrics, opts.config),
    instrument: (handlers) => instrumentHandlers(handlers, metrics, { pool: 'embedded', backend: 'wasm' }),
    async serve(transport, ready) {
      if (!settings) return null;
      if (transport.queueDepths) metrics.trackQueueDepths(() => transport.queueDepths!());
      const board = boardMode === 'off' ? null : await startQueueBoard(boardMode, env, opts.log);
      const server = await startObservabilityServer({
        host: settings.host,
        port: settings.port,
        registry: metrics.registry,
        ready,
        ...(settings.pushgatewayUrl
          ? { pushgateway: { url: settings.pushgatewayUrl, jobName: 'fedsim-coordinator', groupings: { experiment: opts.config.name } } }
          : {}),
        ...(board ? { mounts: [board] } : {}),
      }).catch(async (err: unknown) => {
        await board?.close();
        throw err;
      });
      opts.log(`metrics on ${server.url}/metrics`);
      if (!board) return server;
      opts.log(`queue board (${boardMode}) on ${server.url}${board.basePath}`);
      return {
        ...server,
        async close() {
          await server.close();
          await board.close();
        },
      };
    },
  };
}

/** Bull Board on the run's Redis; loaded only when asked for, so plain runs never import it. */
async function startQueueBoard(
  mode: 'read-only' | 'read-write',
  processEnv: Readonly<Record<string, string | undefined>>,
  log: (m: string) => void,
): Promise<HttpMount & { basePath: string; close(): Promise<void> }> {
  const env = distributedEnvSchema.parse(processEnv);
  const { createQueueBoard } = await import('@fedsim/runtime/queue-board');
  return createQueueBoard({
    connection: env.REDIS_URL,
    prefix: env.FEDSIM_QUEUE_PREFIX,
    readOnly: mode === 'read-only',
    log,
  });
}

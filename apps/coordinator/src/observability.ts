import type { ExperimentConfig, FlowTransport, JobHandlers, RunObserver } from '@fedsim/runtime';
import type { FedsimMetrics, ObservabilityServer } from '@fedsim/runtime/observability';
import {
  createFedsimMetrics,
  instrumentHandlers,
  metricsObserver,
  readObservabilityEnv,
  startObservabilityServer,
} from '@fedsim/runtime/observability';

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
  /** the process environment (FEDSIM_METRICS_HOST/_PORT, FEDSIM_PUSHGATEWAY_URL) */
  env: Readonly<Record<string, string | undefined>>;
  distributed: boolean;
  metricsPort?: string;
  log: (m: string) => void;
}): CoordinatorObservability {
  const metrics = createFedsimMetrics({ role: 'coordinator' });
  const env = { ...opts.env, ...(opts.metricsPort !== undefined ? { FEDSIM_METRICS_PORT: opts.metricsPort } : {}) };
  const enabled = opts.distributed || env['FEDSIM_METRICS_PORT'] !== undefined;
  // Fail on a bad port or Pushgateway before any work starts.
  const settings = enabled ? readObservabilityEnv(env, 'coordinator') : null;
  return {
    metrics,
    observer: metricsObserver(metrics, opts.config),
    instrument: (handlers) => instrumentHandlers(handlers, metrics, { pool: 'embedded', backend: 'wasm' }),
    async serve(transport, ready) {
      if (!settings) return null;
      if (transport.queueDepths) metrics.trackQueueDepths(() => transport.queueDepths!());
      const server = await startObservabilityServer({
        host: settings.host,
        port: settings.port,
        registry: metrics.registry,
        ready,
        ...(settings.pushgatewayUrl
          ? { pushgateway: { url: settings.pushgatewayUrl, jobName: 'fedsim-coordinator', groupings: { experiment: opts.config.name } } }
          : {}),
      });
      opts.log(`metrics on ${server.url}/metrics`);
      return server;
    },
  };
}

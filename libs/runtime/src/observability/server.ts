import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Pushgateway, type Registry } from 'prom-client';
import { maskSecrets } from '../adapters/redact.js';
import { DEFAULT_METRICS_HOST, parseMetricsPort, parsePushgatewayUrl } from './env.js';

/** Resolves `true` when the process can take work, or a short reason why not (shown on /readyz). */
export type ReadinessCheck = () => Promise<true | string>;

export interface PushgatewayOptions {
  readonly url: string;
  /** Pushgateway job name; default 'fedsim' */
  readonly jobName?: string;
  /** grouping labels; default { instance: <hostname> } so processes don't overwrite each other */
  readonly groupings?: Readonly<Record<string, string>>;
  /** default 15000; 0 pushes only at start-up and on close */
  readonly intervalMs?: number;
  /** per request; default 5000 */
  readonly timeoutMs?: number;
  /** errors of periodic pushes (start-up errors throw instead) */
  readonly onError?: (error: Error) => void;
}

/** Another handler served from the same port under its own path (e.g. the queue board). */
export interface HttpMount {
  matches(url: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface ObservabilityServerOptions {
  /** default 127.0.0.1 (DEFAULT_METRICS_HOST) */
  readonly host?: string;
  readonly port: number | string;
  readonly registry: Registry;
  /** default: always ready */
  readonly ready?: ReadinessCheck;
  /** a readiness check slower than this answers 503; default 5000 */
  readonly readyTimeoutMs?: number;
  readonly pushgateway?: PushgatewayOptions;
  /** checked before the built-in paths; a mount answers any method it likes */
  readonly mounts?: readonly HttpMount[];
}

export interface ObservabilityServer {
  readonly host: string;
  /** the bound port (the OS's choice when 0 was asked for) */
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  /** Stops serving; with a Pushgateway, pushes once more first (best effort). */
  close(): Promise<void>;
}

import { ObservabilityStartError } from '../errors/observability.js';

export { ObservabilityStartError };

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return maskSecrets(text).slice(0, 300);
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(new ObservabilityStartError(
          `FEDSIM_METRICS_PORT: port ${port} on ${host} is already in use (another fedsim process?); set FEDSIM_METRICS_PORT to a free port or 0 for any`,
          { cause: error },
        ));
      } else if (error.code === 'EACCES') {
        reject(new ObservabilityStartError(`FEDSIM_METRICS_PORT: no permission to listen on port ${port}; use a port above 1023`, { cause: error }));
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(new ObservabilityStartError(`FEDSIM_METRICS_HOST: cannot listen on '${host}' (${error.code}); use an address of this machine or 0.0.0.0`, { cause: error }));
      } else {
        reject(new ObservabilityStartError(`metrics server could not listen on ${host}:${port}: ${errorMessage(error)}`, { cause: error }));
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Serves /metrics (the registry), /healthz (the process answers) and /readyz (the readiness
 * check). With a Pushgateway, pushes once before resolving so a wrong or unreachable URL fails
 * start-up rather than silently dropping metrics.
 */
export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const requestedPort = parseMetricsPort(options.port);
  const pushUrl = options.pushgateway ? parsePushgatewayUrl(options.pushgateway.url) : undefined;
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const { registry } = options;
  const ready = options.ready ?? (async () => true as const);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const mount = options.mounts?.find((m) => m.matches(req.url ?? '/'));
    if (mount) {
      await mount.handle(req, res);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics': {
        try {
          send(res, 200, await registry.metrics(), registry.contentType);
        } catch (error) {
          send(res, 500, `metrics collection failed: ${errorMessage(error)}\n`);
        }
        return;
      }
      case '/healthz':
        send(res, 200, 'ok\n');
        return;
      case '/readyz': {
        try {
          const verdict = await withTimeout(ready(), readyTimeoutMs, 'readiness check');
          if (verdict === true) send(res, 200, 'ready\n');
          else send(res, 503, `not ready: ${maskSecrets(verdict).slice(0, 300)}\n`);
        } catch (error) {
          send(res, 503, `not ready: ${errorMessage(error)}\n`);
        }
        return;
      }
      default:
        send(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.end();
    });
  });
  // Scrapers keep connections alive; don't let an idle one hold close() open.
  server.keepAliveTimeout = 5000;
  const port = await listen(server, requestedPort, host);

  let pushTimer: ReturnType<typeof setInterval> | undefined;
  let pushOnce: (() => Promise<void>) | undefined;
  if (options.pushgateway && pushUrl !== undefined) {
    const push = options.pushgateway;
    const timeoutMs = push.timeoutMs ?? 5000;
    const gateway = new Pushgateway(pushUrl, { timeout: timeoutMs }, registry);
    const params = { jobName: push.jobName ?? 'fedsim', groupings: { instance: hostname(), ...push.groupings } };
    pushOnce = async () => {
      await withTimeout(gateway.pushAdd(params), timeoutMs + 1000, 'push');
    };
    try {
      await pushOnce();
    } catch (error) {
      await closeServer(server);
      throw new ObservabilityStartError(
        `FEDSIM_PUSHGATEWAY_URL: cannot push metrics to ${maskSecrets(pushUrl)} (${errorMessage(error)}); check the URL and that the Pushgateway is up, or unset FEDSIM_PUSHGATEWAY_URL`,
        { cause: error },
      );
    }
    const intervalMs = push.intervalMs ?? 15000;
    if (intervalMs > 0) {
      const flush = pushOnce;
      pushTimer = setInterval(() => {
        flush().catch((error: unknown) => push.onError?.(new Error(`pushgateway push failed: ${errorMessage(error)}`)));
      }, intervalMs);
      pushTimer.unref();
    }
  }

  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${shownHost}:${port}`,
    close() {
      closed ??= (async () => {
        if (pushTimer) clearInterval(pushTimer);
        if (pushOnce) await pushOnce().catch(() => undefined);
        await closeServer(server);
      })();
      return closed;
    },
  };
}

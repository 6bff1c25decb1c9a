import type { FedsimRole } from './metrics.js';

import { ObservabilityConfigError } from '../errors/observability.js';

export { ObservabilityConfigError };

export const DEFAULT_METRICS_PORTS: Readonly<Record<FedsimRole, number>> = { coordinator: 9464, worker: 9465 };
/**
 * Loopback unless configured: metrics and /readyz say what runs where, which is nobody else's
 * business on a shared host. Containers set FEDSIM_METRICS_HOST=0.0.0.0 (compose, helm, images)
 * so Prometheus can scrape them.
 */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface ObservabilityEnv {
  readonly host: string;
  readonly port: number;
  readonly pushgatewayUrl?: string;
}

/**
 * Port 0 is accepted on purpose: the OS picks a free port (tests, several workers on one host);
 * the server reports the port it got.
 */
export function parseMetricsPort(value: string | number, variable = 'FEDSIM_METRICS_PORT'): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) {
    throw new ObservabilityConfigError(variable, `'${String(value).slice(0, 40)}' is not a port number; use an integer 0-65535 (0 picks a free port)`);
  }
  const port = Number(text);
  if (port > 65535) throw new ObservabilityConfigError(variable, `${port} is out of range; use an integer 0-65535`);
  return port;
}

export function parsePushgatewayUrl(value: string, variable = 'FEDSIM_PUSHGATEWAY_URL'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // the value is not echoed: a malformed URL may still hold a password
    throw new ObservabilityConfigError(variable, 'is not a valid URL; expected e.g. http://pushgateway:9091');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ObservabilityConfigError(variable, `unsupported scheme '${url.protocol}'; use http:// or https://`);
  }
  return value;
}

/** Reads FEDSIM_METRICS_HOST, FEDSIM_METRICS_PORT and FEDSIM_PUSHGATEWAY_URL. */
export function readObservabilityEnv(env: Readonly<Record<string, string | undefined>>, role: FedsimRole): ObservabilityEnv {
  const hostRaw = env.FEDSIM_METRICS_HOST?.trim();
  const host = hostRaw === undefined || hostRaw === '' ? DEFAULT_METRICS_HOST : hostRaw;
  if (/\s|\//.test(host)) throw new ObservabilityConfigError('FEDSIM_METRICS_HOST', `'${host}' is not a host name or address`);
  const portRaw = env.FEDSIM_METRICS_PORT;
  const port = portRaw === undefined || portRaw.trim() === '' ? DEFAULT_METRICS_PORTS[role] : parseMetricsPort(portRaw);
  const pushRaw = env.FEDSIM_PUSHGATEWAY_URL?.trim();
  if (pushRaw === undefined || pushRaw === '') return { host, port };
  return { host, port, pushgatewayUrl: parsePushgatewayUrl(pushRaw) };
}

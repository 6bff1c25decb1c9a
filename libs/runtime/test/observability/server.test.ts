import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_METRICS_PORTS,
  createFedsimMetrics,
  readObservabilityEnv,
  startObservabilityServer,
} from '../../src/observability/index.js';
import { parseExposition, valueOf } from './exposition.js';

const host = '127.0.0.1';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('serves /metrics, /healthz and /readyz; unknown paths 404, other methods 405', async (t) => {
  const metrics = createFedsimMetrics({ role: 'worker', version: '1.2.3' });
  let verdict: true | string = 'redis not connected yet';
  const server = await startObservabilityServer({ host, port: 0, registry: metrics.registry, ready: async () => verdict });
  t.after(() => server.close());
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://${host}:${server.port}`);

  const scraped = await fetch(`${server.url}/metrics`);
  assert.equal(scraped.status, 200);
  assert.match(scraped.headers.get('content-type') ?? '', /text\/plain/);
  const out = parseExposition(await scraped.text());
  assert.equal(valueOf(out, 'fedsim_build_info', { role: 'worker', version: '1.2.3' }), 1);

  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const notReady = await fetch(`${server.url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /redis not connected yet/);
  verdict = true;
  assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

  assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${server.url}/healthz`, { method: 'HEAD' })).status, 200);
});

test('/readyz answers 503 when the check throws (credentials redacted) or hangs', async (t) => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  let mode: 'throw' | 'hang' = 'throw';
  const server = await startObservabilityServer({
    host,
    port: 0,
    registry: metrics.registry,
    readyTimeoutMs: 100,
    ready: async () => {
      if (mode === 'throw') throw new Error('connect ECONNREFUSED redis://admin:s3cr3t@10.0.0.1:6379');
      return new Promise<true>(() => undefined);
    },
  });
  t.after(() => server.close());
  const thrown = await fetch(`${server.url}/readyz`);
  assert.equal(thrown.status, 503);
  const body = await thrown.text();
  assert.match(body, /ECONNREFUSED/);
  assert.doesNotMatch(body, /s3cr3t/);
  mode = 'hang';
  const hung = await fetch(`${server.url}/readyz`);
  assert.equal(hung.status, 503);
  assert.match(await hung.text(), /timed out/);
});

test('a bad port is refused with an error naming FEDSIM_METRICS_PORT', async () => {
  const registry = createFedsimMetrics({ role: 'worker', defaultMetrics: false }).registry;
  for (const port of ['abc', '70000', '-1', '12.5', '']) {
    await assert.rejects(startObservabilityServer({ host, port, registry }), /FEDSIM_METRICS_PORT/, `port '${port}'`);
  }
});

test('a port in use gives a clear error naming FEDSIM_METRICS_PORT', async (t) => {
  const registry = createFedsimMetrics({ role: 'worker', defaultMetrics: false }).registry;
  const first = await startObservabilityServer({ host, port: 0, registry });
  t.after(() => first.close());
  await assert.rejects(
    startObservabilityServer({ host, port: first.port, registry }),
    (error: Error) => /FEDSIM_METRICS_PORT/.test(error.message) && /already in use/.test(error.message),
  );
});

test('environment: role defaults, host, pushgateway URL and clear errors', () => {
  assert.deepEqual(readObservabilityEnv({}, 'coordinator'), { host: '127.0.0.1', port: DEFAULT_METRICS_PORTS.coordinator }, 'loopback unless configured');
  assert.equal(readObservabilityEnv({}, 'worker').port, 9465);
  assert.equal(readObservabilityEnv({}, 'coordinator').port, 9464);
  assert.deepEqual(
    readObservabilityEnv({ FEDSIM_METRICS_HOST: '127.0.0.1', FEDSIM_METRICS_PORT: '9100', FEDSIM_PUSHGATEWAY_URL: 'http://pgw:9091' }, 'worker'),
    { host: '127.0.0.1', port: 9100, pushgatewayUrl: 'http://pgw:9091' },
  );
  assert.throws(() => readObservabilityEnv({ FEDSIM_METRICS_PORT: 'ninety' }, 'worker'), /FEDSIM_METRICS_PORT: 'ninety' is not a port/);
  assert.throws(() => readObservabilityEnv({ FEDSIM_METRICS_PORT: '65536' }, 'worker'), /FEDSIM_METRICS_PORT: 65536 is out of range/);
  assert.throws(() => readObservabilityEnv({ FEDSIM_PUSHGATEWAY_URL: 'ftp://x' }, 'worker'), /FEDSIM_PUSHGATEWAY_URL: unsupported scheme/);
  assert.throws(
    () => readObservabilityEnv({ FEDSIM_PUSHGATEWAY_URL: 'not a url user:pw@' }, 'worker'),
    (error: Error) => /FEDSIM_PUSHGATEWAY_URL/.test(error.message) && !/pw@/.test(error.message),
  );
});

test('pushes to a Pushgateway at start-up and on close', async (t) => {
  const received: { method: string; url: string; body: string }[] = [];
  const gateway = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => gateway.close(() => resolve())));
  const gatewayUrl = `http://${host}:${(gateway.address() as AddressInfo).port}`;

  const metrics = createFedsimMetrics({ role: 'worker', defaultMetrics: false });
  const server = await startObservabilityServer({
    host, port: 0, registry: metrics.registry,
    pushgateway: { url: gatewayUrl, jobName: 'fedsim-worker', groupings: { instance: 'w1' }, intervalMs: 0 },
  });
  assert.equal(received.length, 1);
  assert.equal(received[0]!.method, 'POST');
  assert.equal(received[0]!.url, '/metrics/job/fedsim-worker/instance/w1');
  assert.match(received[0]!.body, /fedsim_build_info\{role="worker"/);
  await server.close();
  assert.equal(received.length, 2, 'a final push on close');
});

test('an unreachable Pushgateway fails start-up clearly, without credentials, and frees the port', async () => {
  const registry = createFedsimMetrics({ role: 'worker', defaultMetrics: false }).registry;
  const deadPort = await freePort();
  const port = await freePort();
  await assert.rejects(
    startObservabilityServer({
      host, port, registry,
      pushgateway: { url: `http://pusher:t0ps3cret@${host}:${deadPort}`, timeoutMs: 1000 },
    }),
    (error: Error) =>
      /FEDSIM_PUSHGATEWAY_URL: cannot push metrics/.test(error.message) && !/t0ps3cret/.test(error.message),
  );
  const again = await startObservabilityServer({ host, port, registry });
  await again.close();
});

import assert from 'node:assert/strict';
import { createServer, get } from 'node:http';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { startFaultProxy } from './proxy.js';
import type { FaultProxy } from './proxy.js';

const BODY = Buffer.alloc(64 * 1024, 7);
let upstream: Server;
let proxy: FaultProxy;

before(async () => {
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  if (!address || typeof address !== 'object') throw new Error('no upstream address');
  proxy = await startFaultProxy({ host: '127.0.0.1', port: address.port });
});

after(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

interface Answer { status: number; bytes: number; ms: number }

/** One GET on a fresh connection; rejects with the socket error (code) when there is one. */
function fetchOnce(timeoutMs = 5_000): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = get(`${proxy.url('http')}/x`, { agent: false, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: Date.now() - started }));
      res.on('error', reject);
      res.on('aborted', () => reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET', bytes })));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'no code';
  }
}

test('without a fault the proxy forwards whole responses', async () => {
  const answer = await fetchOnce();
  assert.equal(answer.status, 200);
  assert.equal(answer.bytes, BODY.length);
});

test('refuse: new connections are refused for the set time, then accepted on the same port', async () => {
  proxy.inject({ kind: 'refuse' }, 400);
  assert.equal(await codeOf(fetchOnce()), 'ECONNREFUSED');
  await proxy.healed();
  assert.equal((await fetchOnce()).status, 200);
});

test('reset: connections are reset', async () => {
  proxy.inject({ kind: 'reset' });
  assert.equal(await codeOf(fetchOnce()), 'ECONNRESET');
  await proxy.heal();
  assert.equal((await fetchOnce()).status, 200);
});

test('delay: every chunk arrives late but whole', async () => {
  proxy.inject({ kind: 'delay', ms: 300 });
  const answer = await fetchOnce();
  await proxy.heal();
  assert.equal(answer.bytes, BODY.length);
  assert.ok(proxy.delayedChunks >= 2);
  // request one way and response the other way: at least two delays
  assert.ok(answer.ms >= 550, `took ${answer.ms} ms`);
});

test('blackhole: connections are accepted but never answered', async () => {
  proxy.inject({ kind: 'blackhole' }, 1_000);
  assert.equal(await codeOf(fetchOnce(500)), 'TIMEOUT');
  await proxy.healed();
  assert.equal((await fetchOnce()).status, 200);
});

test('cut: a response is dropped mid-transfer', async () => {
  proxy.inject({ kind: 'cut', afterBytes: 1_000 });
  const err = await fetchOnce().then(() => undefined, (e: unknown) => e as { code?: string; bytes?: number });
  await proxy.heal();
  assert.ok(err, 'the transfer fails');
  assert.equal(err.code, 'ECONNRESET');
  assert.ok((err.bytes ?? 0) < BODY.length, `got ${err.bytes} bytes`);
});

test('http-error: requests get the status from the proxy, not the upstream', async () => {
  proxy.inject({ kind: 'http-error', status: 503 });
  const answer = await fetchOnce();
  await proxy.heal();
  assert.equal(answer.status, 503);
  assert.equal((await fetchOnce()).status, 200);
  assert.ok(proxy.connections >= 10);
});

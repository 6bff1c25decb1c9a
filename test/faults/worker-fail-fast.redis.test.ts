import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, startRedis } from '../harness/index.js';
import type { RedisHandle } from '../harness/index.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { startFaultProxy } from './proxy.js';
import type { FaultProxy } from './proxy.js';
import { startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * A worker facing an unreachable, silent or refusing Redis or S3 exits within seconds naming
 * which one and why; a running worker's /readyz follows both.
 */

const REDIS_PASSWORD = 'redis-pw-s3cr3t';
let redis: RedisHandle;
let redisProxy: FaultProxy;
let s3: S3BehindProxy;
let guarded: { url: (password: string) => string; stop(): Promise<void> };

before(async () => {
  [redis, s3, guarded] = await Promise.all([startRedis(), startS3BehindProxy(), startRedisWithPassword(REDIS_PASSWORD)]);
  const u = new URL(redis.url);
  redisProxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
});

after(async () => {
  await redisProxy?.close();
  await Promise.all([redis?.stop(), s3?.stop(), guarded?.stop()]);
});

function workerEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...s3.env(),
    REDIS_URL: redisProxy.url('redis'),
    FEDSIM_QUEUE_PREFIX: redis.prefix,
    FEDSIM_BACKEND: 'wasm',
    FEDSIM_WORKER_CONCURRENCY: '1',
    FEDSIM_METRICS_PORT: '0',
    ...overrides,
  };
}

/** Starts a worker that must fail; resolves with its exit code, output and seconds to exit. */
async function failingWorker(env: Record<string, string>): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  const worker = spawnWorker(env);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 45_000);
    worker.child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code === -1) await worker.stop();
  return { code, output: worker.output(), seconds: (Date.now() - started) / 1000 };
}

function assertFailedFast(run: { code: number | null; output: string; seconds: number }, pattern: RegExp): void {
  assert.equal(run.code, 1, `the worker exits with 1:\n${run.output}`);
  assert.match(run.output, pattern);
  // start-up of the TypeScript sources takes a few seconds on its own
  assert.ok(run.seconds < 30, `exited after ${run.seconds} s`);
}

test('Redis on a closed port: the worker exits naming Redis, the URL and REDIS_URL', async () => {
  const port = await freePort();
  const run = await failingWorker(workerEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
  assertFailedFast(run, new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port} is unreachable.*REDIS_URL`));
});

test('a silent Redis (accepts connections, never answers): the worker exits saying so', async () => {
  redisProxy.inject({ kind: 'blackhole' });
  try {
    assertFailedFast(await failingWorker(workerEnv()), /Redis at .* accepts connections but does not answer/);
  } finally {
    await redisProxy.heal();
  }
});

test('Redis refusing the password: the worker exits naming the credentials, never echoing them', async () => {
  const run = await failingWorker(workerEnv({ REDIS_URL: guarded.url('wrong-password-123') }));
  assertFailedFast(run, /Redis at .* rejected the credentials.*REDIS_URL/);
  assert.ok(!run.output.includes('wrong-password-123'), run.output);
});

test('S3 on a closed port: the worker exits naming S3 and S3_ENDPOINT', async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  assertFailedFast(await failingWorker(workerEnv({ S3_ENDPOINT: endpoint })), /S3: S3 endpoint .* is unreachable.*S3_ENDPOINT/);
});

test('a silent S3: the worker exits saying it does not answer', async () => {
  s3.proxy.inject({ kind: 'blackhole' });
  try {
    assertFailedFast(await failingWorker(workerEnv()), /S3 endpoint .* does not answer/);
  } finally {
    await s3.proxy.heal();
  }
});

test('S3 refusing the credentials: the worker exits naming the variables, never echoing the secret', async () => {
  const run = await failingWorker(workerEnv({ AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'not-the-secret-789' }));
  assertFailedFast(run, /refused access.*AWS_SECRET_ACCESS_KEY/);
  assert.ok(!run.output.includes('not-the-secret-789'), run.output);
});

test('/readyz of a running worker turns 503 naming S3 or Redis while either is down, and 200 again after', async () => {
  const worker: WorkerProcess = spawnWorker(workerEnv());
  try {
    await waitUntilServing([worker]);
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(worker.output())?.[1];
    assert.ok(url, worker.output());
    const readyz = async () => {
      const res = await fetch(`${url}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    assert.deepEqual(await readyz(), { status: 200, body: 'ready\n' });

    s3.proxy.inject({ kind: 'refuse' });
    const s3Down = await readyz();
    await s3.proxy.heal();
    assert.equal(s3Down.status, 503);
    assert.match(s3Down.body, /not ready: S3: .*unreachable/);
    assert.equal((await readyz()).status, 200);

    redisProxy.inject({ kind: 'refuse' });
    const redisDown = await readyz();
    await redisProxy.heal();
    assert.equal(redisDown.status, 503);
    assert.match(redisDown.body, /not ready: Redis: .*unreachable/);
    assert.ok(!/S3:/.test(redisDown.body), redisDown.body);
    assert.equal((await readyz()).status, 200);
    // Known and left to the transport work: a SIGTERM while BullMQ's own connections are still
    // reconnecting after the blip waits out the whole grace period. Give them time to reconnect.
    await new Promise((r) => setTimeout(r, 8_000));
  } finally {
    assert.equal(await worker.stop(), 0, worker.output());
  }
});

/** A private redis-server that requires a password (the shared harness one has none). */
async function startRedisWithPassword(password: string): Promise<{ url: (password: string) => string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-redis-auth-'));
  const child = spawn(process.env['REDIS_SERVER_BIN'] ?? 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--requirepass', password,
  ], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  return {
    url: (pw) => `redis://default:${pw}@127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunObserver } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { startRedis } from '../harness/index.js';
import type { RedisHandle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { startFaultProxy } from './proxy.js';
import type { FaultProxy } from './proxy.js';
import { runOnS3, startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * Outages of a distributed run (BullMQ, two worker processes), Redis and S3 each behind a fault
 * proxy. An S3 outage is waited out by the compute threads while the main threads keep the job
 * locks alive.
 */

let redis: RedisHandle;
let s3: S3BehindProxy;
let redisProxy: FaultProxy;
let referenceSha: string;
let workers: WorkerProcess[] = [];
let env: Record<string, string>;

const config = syntheticExperiment({ rounds: 3, failures: { attempts: 2, minSuccessFraction: 1, roundDeadlineSeconds: 600 } });

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3BehindProxy()]);
  const u = new URL(redis.url);
  redisProxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
  env = {
    ...s3.env({ S3_OUTAGE_BUDGET_SECONDS: '120' }),
    REDIS_URL: redisProxy.url('redis'),
    FEDSIM_QUEUE_PREFIX: redis.prefix,
    FEDSIM_BACKEND: 'wasm',
    FEDSIM_WORKER_CONCURRENCY: '1',
    FEDSIM_METRICS_PORT: '0',
  };
  workers = [spawnWorker(env), spawnWorker(env)];
  await waitUntilServing(workers);
  referenceSha = (await runOnS3(config, { runId: 'reference', env: s3.env() })).finalModelSha256;
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await redisProxy?.close();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

test('distributed: S3 refusing connections for 10 s during a round; the run ends with the fault-free model', async () => {
  const rt = await distributedRuntime({ ...process.env, ...env });
  const clients: number[] = [];
  const cancel = s3.injectMidRound('dist-down-10s', 1, { kind: 'refuse' }, 10_000);
  const observer: RunObserver = {
    onRound(row) {
      clients.push(row.succeeded);
    },
  };
  const started = Date.now();
  try {
    const summary = await runExperiment(config, { runId: 'dist-down-10s', store: rt.store, transport: rt.transport, observer });
    const seconds = (Date.now() - started) / 1000;
    console.log(`# distributed 10 s outage run took ${seconds.toFixed(1)} s`);
    assert.equal(summary.finalModelSha256, referenceSha);
    assert.deepEqual(clients, [3, 3, 3]);
    assert.ok(seconds >= 10);
    const logs = workers.map((w) => w.output()).join('\n');
    assert.match(logs, /S3 at .* is failing/, 'a worker logged the outage start');
    assert.match(logs, /S3 at .* answers again after/, 'and its end');
  } finally {
    cancel();
    await s3.proxy.heal();
    await rt.close();
  }
});

test('distributed: Redis refusing connections for 5 s during a round; the run ends with the fault-free model', async () => {
  const rt = await distributedRuntime({ ...process.env, ...env });
  const clients: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let injectedAt: number | undefined;
  const observer: RunObserver = {
    // a moment into round 1: its flow is queued and workers hold its jobs
    onRoundStart: (round) => {
      if (round !== 1) return;
      timer = setTimeout(() => {
        injectedAt = Date.now();
        redisProxy.inject({ kind: 'refuse' }, 5_000);
      }, 150);
    },
    onRound: (row) => void clients.push(row.succeeded),
  };
  const started = Date.now();
  try {
    const summary = await runExperiment(config, { runId: 'dist-redis-5s', store: rt.store, transport: rt.transport, observer });
    console.log(`# distributed 5 s Redis outage run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(injectedAt !== undefined && Date.now() - injectedAt >= 5_000, 'the run was still going when Redis went down');
    assert.equal(summary.finalModelSha256, referenceSha);
    assert.deepEqual(clients, [3, 3, 3]);
  } finally {
    clearTimeout(timer);
    await redisProxy.heal();
    await rt.close();
  }
});

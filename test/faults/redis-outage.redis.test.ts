import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunObserver } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { startRedis, startS3 } from '../harness/index.js';
import type { RedisHandle, S3Handle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { startFaultProxy } from './proxy.js';
import type { FaultProxy } from './proxy.js';
import { runOnS3 } from './s3-behind-proxy.js';

/**
 * Redis outages bounded in time (REDIS_OUTAGE_BUDGET_SECONDS), Redis behind a fault proxy: a
 * worker logs an outage once at its start and once at its end, stops promptly on SIGTERM after
 * a blip, and stops naming the setting when Redis stays away past its budget; a coordinator past
 * its budget stops the run, and the re-run resumes to the fault-free model.
 */
const LONG = process.env['FEDSIM_LONG_TESTS'] === '1';
const config = syntheticExperiment({ rounds: 3, failures: { attempts: 2, minSuccessFraction: 1, roundDeadlineSeconds: 600 } });

let redis: RedisHandle;
let s3: S3Handle;
let proxy: FaultProxy;
let s3Env: Record<string, string>;
const started: WorkerProcess[] = [];

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  const u = new URL(redis.url);
  proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
  s3Env = {
    S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
});
after(async () => {
  await Promise.all(started.map((w) => w.stop()));
  await proxy?.close();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

const envOf = (extra: Record<string, string> = {}) => ({
  ...s3Env, REDIS_URL: proxy.url('redis'), FEDSIM_QUEUE_PREFIX: redis.prefix, FEDSIM_BACKEND: 'wasm',
  FEDSIM_WORKER_CONCURRENCY: '1', FEDSIM_METRICS_PORT: '0', ...extra,
});

async function worker(extra: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = spawnWorker(envOf(extra));
  started.push(w);
  await waitUntilServing([w]);
  return w;
}

const exitOf = (w: WorkerProcess) => new Promise<number | null>((resolve) => {
  if (w.child.exitCode !== null) resolve(w.child.exitCode);
  else w.child.once('exit', (code) => resolve(code));
});

/** `p`, or a rejection after `ms` (a process that never stops must fail the test, not hang it) */
const within = <T>(ms: number, p: Promise<T>, what: string): Promise<T> => Promise.race([
  p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms).unref()),
]);

const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

test('worker: a 2 s Redis blip is logged once at its start and once at its end; SIGTERM after it exits well before the grace period', async () => {
  const w = await worker({ FEDSIM_SHUTDOWN_GRACE_SECONDS: '60' });
  proxy.inject({ kind: 'refuse' }, 2_000);
  await proxy.healed();
  for (let i = 0; i < 100 && !/answers again/.test(w.output()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(count(w.output(), /Redis at \S+ is unreachable \(\w+\); reconnecting with backoff for up to 300 s \(REDIS_OUTAGE_BUDGET_SECONDS\)/), 1, w.output());
  assert.equal(count(w.output(), /Redis at \S+ answers again after [\d.]+ s/), 1, w.output());
  assert.doesNotMatch(w.output(), /ECONNREFUSED.*\n.*ECONNREFUSED/, 'no reconnect noise');

  // another blip, SIGTERM right after it: BullMQ's connections are still reconnecting
  proxy.inject({ kind: 'refuse' }, 2_000);
  await proxy.healed();
  const stopAt = Date.now();
  const code = await w.stop();
  const seconds = (Date.now() - stopAt) / 1000;
  console.log(`# worker SIGTERMed right after a 2 s Redis blip exited with ${code} after ${seconds.toFixed(1)} s (grace period 60 s)`);
  assert.equal(code, 0, w.output());
  assert.ok(seconds < 20, `exited after ${seconds.toFixed(1)} s`);
});

test('worker: Redis gone past REDIS_OUTAGE_BUDGET_SECONDS stops it with exit 1 naming the setting', async () => {
  const w = await worker({ REDIS_OUTAGE_BUDGET_SECONDS: '3' });
  const at = Date.now();
  proxy.inject({ kind: 'refuse' }, 30_000);
  try {
    const code = await within(30_000, exitOf(w), 'worker exit');
    const seconds = (Date.now() - at) / 1000;
    console.log(`# worker with a 3 s budget, Redis refused: exit ${code} after ${seconds.toFixed(1)} s`);
    assert.equal(code, 1);
    assert.ok(seconds >= 3 && seconds < 20, `${seconds} s`);
    assert.match(w.output(), /Redis at \S+ has been unreachable for [\d.]+ s \(ECONNREFUSED\), the whole outage budget of 3\.0 s \(REDIS_OUTAGE_BUDGET_SECONDS\); the worker stops/);
  } finally {
    await proxy.heal();
  }
});

test('coordinator: Redis gone past REDIS_OUTAGE_BUDGET_SECONDS stops the run naming the setting; the re-run resumes to the fault-free model', {
  ...(LONG ? {} : { skip: 'set FEDSIM_LONG_TESTS=1 (a worker start-up and three runs, ~45 s)' }),
}, async () => {
  const reference = await runOnS3(config, { runId: 'reference', env: s3Env });
  await worker({ FEDSIM_WORKER_CONCURRENCY: '2' });
  const rt = await distributedRuntime({ ...process.env, ...envOf({ REDIS_OUTAGE_BUDGET_SECONDS: '3' }) });
  let injectedAt = 0;
  const observer: RunObserver = {
    onRoundStart: (round) => {
      if (round !== 1) return;
      injectedAt = Date.now();
      proxy.inject({ kind: 'refuse' }, 60_000);
    },
  };
  let stoppedAfter = 0;
  try {
    const run = runExperiment(config, { runId: 'over-budget', store: rt.store, transport: rt.transport, observer });
    await assert.rejects(within(60_000, run, 'the run'), (err: Error) => {
      stoppedAfter = (Date.now() - injectedAt) / 1000;
      console.log(`# the run stopped after ${stoppedAfter.toFixed(1)} s of Redis outage with: ${err.message}`);
      return /unreachable for [\d.]+ s .*outage budget of 3\.0 s \(REDIS_OUTAGE_BUDGET_SECONDS\); the run stops.*run again to resume/.test(err.message);
    });
    assert.ok(stoppedAfter >= 3 && stoppedAfter < 20, `${stoppedAfter} s`);
  } finally {
    await proxy.heal();
    const closing = Date.now();
    await rt.close();
    assert.ok(Date.now() - closing < 10_000, 'the runtime closes without waiting for Redis');
  }
  const again = await distributedRuntime({ ...process.env, ...envOf() });
  try {
    const at = Date.now();
    const resumed = await runExperiment(config, { runId: 'over-budget', store: again.store, transport: again.transport });
    console.log(`# re-run resumed in ${((Date.now() - at) / 1000).toFixed(1)} s`);
    assert.equal(resumed.finalModelSha256, reference.finalModelSha256);
  } finally {
    await again.close();
  }
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { RoundRow, RunSummary } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { parseS3Env, S3BlobStore } from '@fedsim/runtime/adapters';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { freePort, startS3 } from '../harness/index.js';
import type { S3Handle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';

/**
 * Redis SIGKILLed mid-round and started again on the same port (distributed: BullMQ, two worker
 * processes). With append-only persistence the run rides it out; without, the round's jobs are
 * gone: the run stops naming the lost flow and a re-run resumes it. Same final model either way.
 */
const long = process.env['FEDSIM_LONG_TESTS'] === '1';
const config = syntheticExperiment({ rounds: 3, failures: { attempts: 2, minSuccessFraction: 1, roundDeadlineSeconds: 600 } });

let s3: S3Handle;
let reference: string;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  if (!long) return;
  s3 = await startS3();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await s3?.stop();
});

/** A redis-server on a fixed port and directory, so it can be killed and started again. */
async function redisServer(persistent: boolean) {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-redis-restart-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction',
      ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])], { stdio: 'ignore' });
    for (;;) {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined); // not up yet: the loop tries again
      const ok = await client.connect().then(() => client.ping()).then(() => true, () => false);
      client.disconnect();
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child!;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  cleanups.push(async () => {
    if (child && child.exitCode === null && child.signalCode === null) await kill();
    await rm(dir, { recursive: true, force: true });
  });
  return { url, start, kill };
}

async function setUp(persistent: boolean) {
  const redis = await redisServer(persistent);
  const env = {
    S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: persistent ? 'aof/' : 'plain/',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    REDIS_URL: redis.url, FEDSIM_QUEUE_PREFIX: 'restart', FEDSIM_BACKEND: 'wasm', FEDSIM_WORKER_CONCURRENCY: '1', FEDSIM_METRICS_PORT: '0',
  };
  const workers: WorkerProcess[] = [spawnWorker(env), spawnWorker(env)];
  cleanups.push(async () => void (await Promise.all(workers.map((w) => w.stop()))));
  await waitUntilServing(workers);
  const store = new S3BlobStore(parseS3Env(env));
  cleanups.push(async () => store.close());
  const run = async (runId: string, rows: RoundRow[] = []): Promise<RunSummary> => {
    const rt = await distributedRuntime({ ...process.env, ...env });
    try {
      return await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (row) => void rows.push(row) } });
    } finally {
      await rt.close();
    }
  };
  /** Kills Redis as soon as round 1's first update is stored, and starts it again a second later. */
  const restartMidRound = (runId: string) => {
    const prefix = keys.update(runId, 1, 0, 1).replace(/0\/attempt-1\.bin$/, '');
    return (async () => {
      while ((await store.list(prefix)).length === 0) await new Promise((r) => setTimeout(r, 20));
      await redis.kill();
      await new Promise((r) => setTimeout(r, 1000));
      await redis.start();
    })();
  };
  return { run, restartMidRound };
}

test('Redis restarted mid-round with append-only persistence: the run rides it out with the fault-free model', { skip: !long && 'set FEDSIM_LONG_TESTS=1' }, async () => {
  const { run, restartMidRound } = await setUp(true);
  reference = (await run('reference')).finalModelSha256;
  const rows: RoundRow[] = [];
  const restarted = restartMidRound('aof');
  const started = Date.now();
  const summary = await run('aof', rows);
  await restarted;
  console.log(`# Redis restart with persistence: run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(summary.finalModelSha256, reference);
  assert.deepEqual(rows.map((r) => r.succeeded), [3, 3, 3]);
});

test('Redis restarted mid-round without persistence: the run stops naming the lost flow and a re-run resumes it', { skip: !long && 'set FEDSIM_LONG_TESTS=1' }, async () => {
  const { run, restartMidRound } = await setUp(false);
  const restarted = restartMidRound('plain');
  const started = Date.now();
  let outcome: string;
  try {
    const summary = await run('plain');
    outcome = `completed (${summary.finalModelSha256 === reference ? 'same model' : 'different model'})`;
    assert.equal(summary.finalModelSha256, reference);
  } catch (err) {
    outcome = `stopped: ${(err as Error).message}`;
    await restarted;
    const rows: RoundRow[] = [];
    const resumed = await run('plain', rows);
    assert.equal(resumed.finalModelSha256, reference);
    assert.ok(rows.every((r) => r.succeeded === 3));
  }
  console.log(`# Redis restart without persistence: ${outcome}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
});

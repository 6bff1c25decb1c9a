import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RoundRow, RunSummary } from '@fedsim/runtime';
import { commitRecordSchema, keys, runExperiment } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { startRedis } from '../harness/index.js';
import type { RedisHandle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * Nothing stale is replayed (distributed: BullMQ and two worker processes, S3 behind a fault
 * proxy): a run id reused against a fresh store trains for real, and a run that failed because S3
 * stayed down past its outage budget resumes when run again, with the fault-free model.
 */

let redis: RedisHandle;
let s3: S3BehindProxy;
let workers: WorkerProcess[] = [];

const config = syntheticExperiment({ rounds: 3, failures: { attempts: 2, minSuccessFraction: 1, roundDeadlineSeconds: 600 } });

/** Environment of the coordinator and its workers; `s3` adds to or overrides the S3 settings. */
const envFor = (extra: Record<string, string>) => ({
  ...s3.env(extra),
  REDIS_URL: redis.url,
  FEDSIM_QUEUE_PREFIX: redis.prefix,
  FEDSIM_BACKEND: 'wasm',
  FEDSIM_WORKER_CONCURRENCY: '1',
  FEDSIM_METRICS_PORT: '0',
});

async function useWorkers(env: Record<string, string>): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [spawnWorker(env), spawnWorker(env)];
  await waitUntilServing(workers);
}

async function run(env: Record<string, string>, runId: string, rows: RoundRow[] = []): Promise<RunSummary> {
  const rt = await distributedRuntime({ ...process.env, ...env });
  try {
    return await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (row) => void rows.push(row) } });
  } finally {
    await rt.close();
  }
}

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3BehindProxy()]);
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all([redis?.stop(), s3?.stop()]);
});

let reference: RunSummary;

test('same Redis, fresh store, same run id: every round trains for real and ends with the same model', async () => {
  const first = envFor({ S3_PREFIX: 'first/' });
  await useWorkers(first);
  reference = await run(first, 'reused-id');

  // the bucket's root: a store that never saw the first run (and the next test's, with a short outage budget)
  const fresh = envFor({ S3_OUTAGE_BUDGET_SECONDS: '2' });
  await useWorkers(fresh);
  const rows: RoundRow[] = [];
  const again = await run(fresh, 'reused-id', rows);
  assert.equal(again.finalModelSha256, reference.finalModelSha256);
  assert.deepEqual(rows.map((r) => r.succeeded), [3, 3, 3]);
  for (const r of rows) assert.ok(r.trainSeconds > 0, `round ${r.round} trained (not an old run's finished job)`);
});

test('S3 down past the outage budget: the run stops with a clear error and resumes when run again', async () => {
  const env = envFor({ S3_OUTAGE_BUDGET_SECONDS: '2' });
  const cancel = s3.injectMidRound('over-budget', 1, { kind: 'refuse' }, 10_000);
  const started = Date.now();
  try {
    await assert.rejects(run(env, 'over-budget'), (err: Error) => {
      console.log(`# the run stopped with: ${err.message}`);
      return /run again to resume/.test(err.message);
    });
  } finally {
    cancel();
  }
  const failedAfter = (Date.now() - started) / 1000;
  await s3.proxy.heal();
  const resumed = await run(env, 'over-budget');
  console.log(`# S3 down 10 s with a 2 s budget: failed after ${failedAfter.toFixed(1)} s, re-run resumed in ${((Date.now() - started) / 1000 - failedAfter).toFixed(1)} s`);
  assert.equal(resumed.finalModelSha256, reference.finalModelSha256);
  // no round committed with fewer clients because of the outage
  const rt = await distributedRuntime({ ...process.env, ...env });
  try {
    for (let round = 0; round < config.rounds; round++) {
      const commit = commitRecordSchema.parse(JSON.parse(Buffer.from(await rt.store.get(keys.commit('over-budget', round))).toString('utf8')));
      assert.equal(commit.succeeded.length, 3, `round ${round}: ${JSON.stringify(commit.failures)}`);
    }
  } finally {
    await rt.close();
  }
});

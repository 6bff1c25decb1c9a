import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RoundRow, RunSummary } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { startRedis, startS3 } from '../harness/index.js';
import type { RedisHandle, S3Handle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { FaultPlan } from '../ops/fixtures/faulty-worker.js';
import { runOnS3 } from './s3-behind-proxy.js';

/**
 * Distributed (BullMQ, a worker process whose round-1 train jobs fail the first time): a round that fails failures.minSuccessFraction is a
 * *completed* parent job whose reply says 'failed'. Run again against the same Redis and store,
 * the round must train again for real (its next attempt is a new flow) and the run resume to
 * the fault-free model, not get the old reply back.
 */
const config = syntheticExperiment({ rounds: 3, failures: { attempts: 1, minSuccessFraction: 1, roundDeadlineSeconds: 600 } });

let redis: RedisHandle;
let s3: S3Handle;
let env: Record<string, string>;
let s3Env: Record<string, string>;

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3Env = {
    S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
  env = {
    ...s3Env,
    REDIS_URL: redis.url, FEDSIM_QUEUE_PREFIX: redis.prefix, FEDSIM_BACKEND: 'wasm', FEDSIM_WORKER_CONCURRENCY: '2', FEDSIM_METRICS_PORT: '0',
  };
});
after(async () => {
  await Promise.all([redis?.stop(), s3?.stop()]);
});

async function run(runId: string, rows: RoundRow[] = []): Promise<RunSummary> {
  const rt = await distributedRuntime({ ...process.env, ...env });
  try {
    return await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (row) => void rows.push(row) } });
  } finally {
    await rt.close();
  }
}

test('distributed: a round failed for want of clients trains again on the re-run, which resumes to the fault-free model', async () => {
  const reference = await runOnS3(config, { runId: 'reference', env: s3Env });
  // every train job of round 1 fails the first time, whichever clients the sampling picked
  const plan: FaultPlan = { failFirst: Array.from({ length: 6 }, (_, clientId) => ({ round: 1, clientId })) };
  const worker = spawnWorker({ ...env, FEDSIM_TEST_FAULTS: JSON.stringify(plan) }, 'test/ops/fixtures/faulty-worker.ts');
  try {
    await waitUntilServing([worker]);
    await assert.rejects(run('failed-round'), /round 1 failed: only 0 of 3 clients/);

    const rows: RoundRow[] = [];
    const started = Date.now();
    const again = await run('failed-round', rows);
    console.log(`# re-run after a failed round: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual(rows.map((r) => [r.round, r.succeeded]), [[1, 3], [2, 3]]);
    assert.ok(rows[0]!.trainSeconds > 0, 'round 1 trained again (not the failed attempt\'s finished job)');
    assert.equal(again.finalModelSha256, reference.finalModelSha256);
    const rt = await distributedRuntime({ ...process.env, ...env });
    try {
      assert.deepEqual(JSON.parse(Buffer.from(await rt.store.get(keys.roundAttempts('failed-round', 1))).toString('utf8')), { failed: 1 });
    } finally {
      await rt.close();
    }
  } finally {
    await worker.stop();
  }
});

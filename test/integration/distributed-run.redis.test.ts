import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ExperimentConfig, RunSummary } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import { startDistributedEnv, type DistributedEnv } from './distributed-env.js';
import { syntheticCnnExperiment, syntheticExperiment } from './fixtures.js';
import { spawnWorker, waitUntilServing, type WorkerProcess } from './workers.js';

let dist: DistributedEnv;
let dir: string;
let env: Record<string, string>;
let workers: readonly WorkerProcess[] = [];

before(async () => {
  dist = await startDistributedEnv(2);
  ({ env, workers } = dist);
  dir = await mkdtemp(join(tmpdir(), 'fedsim-dist-'));
});

after(async () => {
  await dist?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function runEmbedded(config: ExperimentConfig, runId: string, workersCount: number): Promise<RunSummary> {
  const rt = await embeddedRuntime({ root: join(dir, `${runId}-${workersCount}`), workers: workersCount, backend: 'wasm' });
  try {
    return await runExperiment(config, { runId, store: rt.store, transport: rt.transport });
  } finally {
    await rt.close();
  }
}

async function readCommit(runId: string, round: number): Promise<Uint8Array> {
  const rt = await distributedRuntime({ ...process.env, ...env });
  try {
    return await rt.store.get(keys.commit(runId, round));
  } finally {
    await rt.close();
  }
}

async function runDistributed(config: ExperimentConfig, runId: string): Promise<RunSummary> {
  const rt = await distributedRuntime({ ...process.env, ...env });
  try {
    const summary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport });
    assert.ok(await rt.store.exists(keys.commit(runId, config.rounds - 1)), 'the last round is committed in S3');
    return summary;
  } finally {
    await rt.close();
  }
}

for (const [name, make] of [
  ['MLP', syntheticExperiment],
  ['FedAvgCNN', syntheticCnnExperiment],
] as const) {
  test(`${name}: distributed (Redis + S3, 2 worker processes) equals embedded bit for bit`, async () => {
    const config = make();
    const distributed = await runDistributed(config, `d-${name}`);
    const embedded1 = await runEmbedded(config, `d-${name}`, 1);
    const embedded2 = await runEmbedded(config, `d-${name}`, 2);
    assert.equal(distributed.finalModelSha256, embedded1.finalModelSha256);
    assert.equal(embedded2.finalModelSha256, embedded1.finalModelSha256);
    assert.deepEqual(distributed.final, embedded1.final, 'evaluations agree too');
    // Both worker processes trained clients.
    const pids = new Set<string>();
    for (let round = 0; round < config.rounds; round++) {
      const commit = JSON.parse(Buffer.from(await readCommit(`d-${name}`, round)).toString('utf8')) as { workers: string[] };
      for (const w of commit.workers) pids.add(w.split('/')[1]!);
    }
    assert.deepEqual([...pids].sort(), workers.map((w) => String(w.child.pid)).sort());
  });
}

test('cohorts with partial sums: distributed equals embedded bit for bit, with 1 or 2 compute threads', async () => {
  // 6 clients a round in 3 cohorts of 2 (trainCohort jobs, one partial sum each)
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2 });
  const distributed = await runDistributed(config, 'd-cohorts');
  const embedded1 = await runEmbedded(config, 'd-cohorts', 1);
  const embedded2 = await runEmbedded(config, 'd-cohorts', 2);
  assert.equal(distributed.finalModelSha256, embedded1.finalModelSha256);
  assert.equal(embedded2.finalModelSha256, embedded1.finalModelSha256);
  assert.deepEqual(distributed.final, embedded1.final);
  const commit = JSON.parse(Buffer.from(await readCommit('d-cohorts', 0)).toString('utf8')) as { succeeded: number[] };
  assert.deepEqual(commit.succeeded, [0, 1, 2, 3, 4, 5]);
});

test('an unreachable Redis or S3 fails within seconds with an actionable message', async () => {
  const started = Date.now();
  await assert.rejects(
    distributedRuntime({ ...process.env, ...env, REDIS_URL: 'redis://127.0.0.1:1' }),
    /127\.0\.0\.1:1.*(REDIS_URL|Redis)/s,
  );
  await assert.rejects(
    distributedRuntime({ ...process.env, ...env, S3_ENDPOINT: 'http://127.0.0.1:1' }),
    /127\.0\.0\.1:1.*S3_ENDPOINT/s,
  );
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
});

test('workers exit cleanly on SIGTERM', async () => {
  const extra = spawnWorker(env);
  await waitUntilServing([extra]);
  assert.equal(await extra.stop(), 0, extra.output());
});

test('tree aggregation (reduce jobs over groups of cohorts): distributed equals embedded bit for bit; FIARSE too', async () => {
  // 6 clients in 3 cohorts of 2, reduced in groups of 2: two reduce jobs, the aggregation reads 2 partials
  for (const [runId, algorithm] of [['d-tree', 'fedavg'], ['d-tree-fiarse', 'fiarse']] as const) {
    const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, rounds: 2, algorithm: { name: algorithm } });
    const distributed = await runDistributed(config, runId);
    const embedded1 = await runEmbedded(config, runId, 1);
    const embedded2 = await runEmbedded(config, runId, 2);
    assert.equal(distributed.finalModelSha256, embedded1.finalModelSha256, algorithm);
    assert.equal(embedded2.finalModelSha256, embedded1.finalModelSha256, algorithm);
    const commit = JSON.parse(Buffer.from(await readCommit(runId, 1)).toString('utf8')) as { succeeded: number[]; reads: unknown };
    assert.deepEqual(commit.succeeded, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(commit.reads, { aggregate: 2, reduceJobs: 2, maxPerReduceJob: 2 });
  }
});

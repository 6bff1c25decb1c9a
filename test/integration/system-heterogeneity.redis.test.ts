import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RoundRow } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import { startDistributedEnv, type DistributedEnv } from './distributed-env.js';
import { fedBuffExperiment, heterogeneousExperiment } from './fixtures.js';

let dist: DistributedEnv;
let dir: string;
before(async () => {
  dist = await startDistributedEnv(2);
  dir = await mkdtemp(join(tmpdir(), 'fedsim-system-dist-'));
});
after(async () => {
  await dist?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('deadline + over-commitment: distributed (Redis + S3, 2 workers) equals embedded bit for bit, drops included', async () => {
  const config = heterogeneousExperiment();
  const distRows: RoundRow[] = [];
  const drt = await distributedRuntime({ ...process.env, ...dist.env });
  const distributed = await runExperiment(config, { runId: 'sys-d', store: drt.store, transport: drt.transport, observer: { onRound: (r) => void distRows.push(r) } }).finally(() => drt.close());
  const embRows: RoundRow[] = [];
  const ert = await embeddedRuntime({ root: join(dir, 'e'), workers: 2, backend: 'wasm' });
  const embedded = await runExperiment(config, { runId: 'sys-d', store: ert.store, transport: ert.transport, observer: { onRound: (r) => void embRows.push(r) } }).finally(() => ert.close());
  assert.equal(distributed.finalModelSha256, embedded.finalModelSha256);
  assert.deepEqual(distributed.final, embedded.final);
  assert.equal(distributed.virtualSeconds, embedded.virtualSeconds);
  assert.deepEqual(distRows.map((r) => [r.sampled, r.virtual]), embRows.map((r) => [r.sampled, r.virtual]));
  assert.ok(distRows.some((r) => (r.virtual?.dropped.length ?? 0) > 0), 'clients were dropped');
});

test('FedBuff: distributed (Redis + S3, 2 workers) equals embedded bit for bit: same arrivals, same staleness, same final model', async () => {
  // 5 clients, 2 in a buffer of 4 in flight: stale arrivals and refills across flushes.
  const config = fedBuffExperiment({
    partition: { kind: 'dirichlet', numClients: 5, alpha: 0.5, minSamples: 10, testRatio: 0.25 },
    system: {
      ...fedBuffExperiment().system!,
      devices: {
        kind: 'sampled',
        computeSamplesPerSecond: { kind: 'lognormal', median: 20, sigma: 1 },
        downBytesPerSecond: { kind: 'fixed', value: 1e4 },
        upBytesPerSecond: { kind: 'uniform', min: 2e3, max: 1e4 },
      },
      mode: { kind: 'fedbuff', concurrency: 4, bufferSize: 2, maxStaleness: 2, staleness: { kind: 'polynomial', exponent: 0.5 } },
    },
  });
  const arrivals = (rows: RoundRow[]) => rows.map((r) => r.virtual?.arrivals);
  const distRows: RoundRow[] = [];
  const drt = await distributedRuntime({ ...process.env, ...dist.env });
  const distributed = await runExperiment(config, { runId: 'fb-d', store: drt.store, transport: drt.transport, observer: { onRound: (r) => void distRows.push(r) } }).finally(() => drt.close());
  const embRows: RoundRow[] = [];
  const ert = await embeddedRuntime({ root: join(dir, 'fb'), workers: 2, backend: 'wasm' });
  const embedded = await runExperiment(config, { runId: 'fb-d', store: ert.store, transport: ert.transport, observer: { onRound: (r) => void embRows.push(r) } }).finally(() => ert.close());
  assert.equal(distributed.finalModelSha256, embedded.finalModelSha256);
  assert.deepEqual(distributed.final, embedded.final);
  assert.deepEqual(distributed.staleness, embedded.staleness);
  assert.deepEqual(arrivals(distRows), arrivals(embRows));
  assert.ok(distRows.some((r) => r.virtual!.arrivals!.some((a) => a.staleness > 0)), 'some updates arrive stale');
  assert.ok(distRows.every((r) => r.failed === 0 && r.succeeded === 2));
});

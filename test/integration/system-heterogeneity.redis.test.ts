import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RoundRow } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import { startDistributedEnv, type DistributedEnv } from './distributed-env.js';
import { heterogeneousExperiment } from './fixtures.js';

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

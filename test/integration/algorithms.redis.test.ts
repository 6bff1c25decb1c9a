import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { algorithmNames } from '@fedsim/fl/algorithms';
import { decodeBlob } from '@fedsim/fl/params';
import type { BlobStore, ExperimentConfig, RunSummary } from '@fedsim/runtime';
import { algorithmFor, keys, modelFor, runExperiment } from '@fedsim/runtime';
import { loadDataset } from '@fedsim/runtime/data';
import { decodeStatePack } from '@fedsim/runtime/engine';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import { startDistributedEnv, type DistributedEnv } from './distributed-env.js';
import { syntheticExperiment } from './fixtures.js';

/**
 * Every registered algorithm, 2 rounds on Redis + S3 with two worker processes, equals the
 * embedded run bit for bit; and no update in the store carries a personal parameter.
 */
let dist: DistributedEnv;
let dir: string;
before(async () => {
  dist = await startDistributedEnv(2);
  dir = await mkdtemp(join(tmpdir(), 'fedsim-algos-'));
});
after(async () => {
  await dist?.stop();
  await rm(dir, { recursive: true, force: true });
});

const configFor = (name: string): ExperimentConfig =>
  syntheticExperiment({
    name: `algo-${name}`,
    algorithm: { name },
    rounds: 2,
    joinRatio: 0.5,
    // Rounds 0 and 1 sample overlapping clients, so personal state is read back at least once.
    eval: { every: 2 },
    // the byte-level check reads every round's updates and state packs after the run
    storage: { gc: 'off' },
  });

async function runDistributed(config: ExperimentConfig, runId: string): Promise<RunSummary> {
  const rt = await distributedRuntime({ ...process.env, ...dist.env });
  try {
    const summary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport });
    await assertNoPersonalBytesUploaded(rt.store, config, runId);
    return summary;
  } finally {
    await rt.close();
  }
}

/** The byte-level check: personal tensors' stored values never occur inside an uploaded update. */
async function assertNoPersonalBytesUploaded(store: BlobStore, config: ExperimentConfig, runId: string): Promise<void> {
  const model = modelFor(config, await loadDataset(config.data));
  const { uploadSpec, hooks } = algorithmFor(config, model, config.partition.numClients);
  const personalEntries = ['personal', ...(hooks.personalState ?? [])];
  const keysInRun = await store.list(`runs/${runId}/rounds/`);
  const updates = keysInRun.filter((k) => k.includes('/updates/'));
  assert.ok(updates.length > 0, 'updates were uploaded');
  for (const key of updates) {
    const blob = decodeBlob(await store.get(key));
    assert.equal((blob.arrays['values'] ?? Object.values(blob.arrays)[0])!.length, uploadSpec.size, `${key} holds the shared tensors only`);
  }
  const states = keysInRun.filter((k) => k.includes('/state/'));
  let checked = 0;
  for (const stateKey of states) {
    for (const arrays of decodeStatePack(await store.get(stateKey)).values()) for (const entry of personalEntries) {
    const personal = arrays[entry];
    if (!personal) continue;
    // A 16-element window of the personal tensors, as raw float32 bytes.
    const window = Buffer.from(personal.buffer, personal.byteOffset, Math.min(16, personal.length) * 4);
    for (const key of updates) {
      assert.equal(Buffer.from(await store.get(key)).indexOf(window), -1, `${key} contains personal bytes of ${stateKey}`);
    }
    checked++;
    }
  }
  const declaresPersonal = hooks.personalState !== undefined || model.spec.tensors.some((t) => hooks.personal(t));
  assert.equal(checked > 0, declaresPersonal, 'every algorithm that declares personal parameters had them checked');
}

for (const name of algorithmNames) {
  test(`${name}: distributed equals embedded, personal parameters never uploaded`, async () => {
    const config = configFor(name);
    const distributed = await runDistributed(config, `a-${name}`);
    const rt = await embeddedRuntime({ root: join(dir, name), workers: 2, backend: 'wasm' });
    let embedded: RunSummary;
    try {
      embedded = await runExperiment(config, { runId: `a-${name}`, store: rt.store, transport: rt.transport });
    } finally {
      await rt.close();
    }
    assert.equal(distributed.finalModelSha256, embedded.finalModelSha256);
    assert.deepEqual(distributed.final, embedded.final);
    assert.ok(embedded.final?.results['personalized'], 'a personalised evaluation is reported');
    assert.ok(await rt.store.exists(keys.commit(`a-${name}`, 1)));
  });
}

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BlobStore, ExperimentConfig, FlowTransport, RunSummary } from '@fedsim/runtime';
import { collectGarbage, keys, RunFailedError, runExperiment } from '@fedsim/runtime';
import { committedStateRefs, decodeJson, encodeJson, loadState } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { collectReportInput } from '../../apps/coordinator/src/report/collect.js';
import { syntheticExperiment } from './fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-gc-'));
after(() => rm(dir, { recursive: true, force: true }));

/**
 * FedOBP with EMA keeps trained state (θ_last), server-prepared state (S_i) and instructions;
 * cohorts of 2 pack state per cohort and sum partials. 8 clients, 4 per round, so some clients'
 * state stays live from rounds long past while others' is replaced.
 */
const experiment = (storage: Record<string, unknown>): ExperimentConfig =>
  syntheticExperiment({
    name: 'it-gc',
    partition: { kind: 'dirichlet', numClients: 8, alpha: 0.5, minSamples: 10, testRatio: 0.25 },
    algorithm: { name: 'fedobp', q: 0.9, ema: true, alpha: 0.3 },
    rounds: 5,
    cohortSize: 2,
    eval: { every: 2 },
    storage,
  });

const countBy = (keysIn: readonly string[], part: string) => keysIn.filter((k) => k.includes(part)).length;

async function runWith(runId: string, config: ExperimentConfig, wrap?: (t: FlowTransport) => FlowTransport): Promise<RunSummary> {
  // a fresh runtime per part, as after a crash (the embedded queue remembers settled flows)
  const rt = await embeddedRuntime({ root: dir, workers: 2, backend: 'wasm' });
  try {
    return await runExperiment(config, { runId, store: rt.store, transport: wrap ? wrap(rt.transport) : rt.transport });
  } finally {
    await rt.close();
  }
}

/** A coordinator that dies when it is about to queue round `round`. */
const stopAtRound = (round: number) => (inner: FlowTransport): FlowTransport => ({
  check: () => inner.check(),
  close: () => inner.close(),
  runFlow: (flow) =>
    flow.parent.kind === 'aggregate' && (flow.parent.payload as { round: number }).round === round
      ? Promise.reject(new Error(`coordinator stopped before round ${round}`))
      : inner.runFlow(flow),
});

async function storeOf(): Promise<BlobStore> {
  const rt = await embeddedRuntime({ root: dir, workers: 1, backend: 'wasm' });
  await rt.close();
  return rt.store;
}

test('gc after 3 rounds deletes what was superseded; the resumed run and its report equal an uncollected run', async () => {
  const config = experiment({ gc: 'off' });
  const reference = await runWith('ref', config);

  await assert.rejects(runWith('g', config, stopAtRound(3)), /stopped before round 3/);
  const store = await storeOf();
  const before = await store.list(keys.roundsPrefix('g'));
  assert.ok(countBy(before, '/partials/') > 0 && countBy(before, '/instructions/') > 0 && countBy(before, '/state/') > 0);

  const dry = await collectGarbage(store, 'g', { keepGlobalModels: 1, dryRun: true });
  assert.deepEqual(await store.list(keys.roundsPrefix('g')), before, 'a dry run deletes nothing');
  const result = await collectGarbage(store, 'g', { keepGlobalModels: 1 });
  assert.deepEqual(result.deleted, dry.deleted, 'a dry run reports what the real one deletes');
  assert.equal(result.committedThrough, 2);
  const after = await store.list(keys.roundsPrefix('g'));
  const deletedHere = result.deleted.filter((d) => d.key.startsWith(keys.roundsPrefix('g')));
  assert.equal(after.length, before.length - deletedHere.length);
  assert.ok(result.deleted.some((d) => d.key.startsWith(keys.initialStatePrefix('g'))), 'the state prepared before round 0 was replaced since');
  assert.ok(result.bytesFreed > 0);
  const kinds = new Set(result.deleted.map((d) => d.kind));
  for (const kind of ['partials', 'instructions', 'state-pack', 'state-shard', 'global'] as const) assert.ok(kinds.has(kind), `deleted some ${kind}`);

  // every committed round's transient blobs are gone; the round about to run keeps its instructions
  const inRound = (keysIn: readonly string[], t: number, part: string) => countBy(keysIn.filter((k) => k.startsWith(keys.roundPrefix('g', t))), part);
  for (const t of [0, 1, 2]) {
    assert.equal(inRound(after, t, '/partials/') + inRound(after, t, '/instructions/'), 0, `round ${t}`);
    assert.ok(after.includes(keys.commit('g', t)), `round ${t}'s commit is kept`);
    assert.ok(!after.includes(keys.global('g', t)), `θ_g^${t} beyond the keep-count is deleted`);
  }
  assert.ok(inRound(after, 3, '/instructions/') > 0 && after.includes(keys.global('g', 3)));
  // every client's committed state is still readable, wherever it was written
  const live = await committedStateRefs(store, 'g', 2);
  assert.ok(live.size > 0);
  for (const refs of live.values()) assert.ok(await loadState(store, refs));
  const packs = after.filter((k) => /\/(instructed-)?state\//.test(k));
  const referenced = new Set([...live.values()].flatMap((refs) => Object.values(refs).map((r) => r.key)));
  assert.deepEqual(packs, [...referenced].sort(), 'the state packs left are exactly those the last commit points into');
  assert.equal((await collectGarbage(store, 'g')).deleted.length, 0, 'a second gc finds nothing');

  const resumed = await runWith('g', config);
  assert.equal(resumed.finalModelSha256, reference.finalModelSha256);
  assert.deepEqual(resumed.final, reference.final);
  assert.deepEqual(resumed.failures, reference.failures);
  const report = await collectReportInput(store, 'g');
  const refReport = await collectReportInput(store, 'ref');
  assert.deepEqual(report.runs[0]!.evals, refReport.runs[0]!.evals);
});

test('the after-commit policy (the default) collects as the run goes; the model is the uncollected one', async () => {
  const reference = await runWith('ref2', experiment({ gc: 'off' }));
  const config = experiment({ keepGlobalModels: 2 });
  assert.equal(config.storage?.gc, 'after-commit');
  const collected = await runWith('auto', config);
  assert.equal(collected.finalModelSha256, reference.finalModelSha256);
  assert.deepEqual(collected.final, reference.final);
  const store = await storeOf();
  const left = await store.list(keys.roundsPrefix('auto'));
  const all = await store.list(keys.roundsPrefix('ref2'));
  assert.equal(countBy(left, '/partials/') + countBy(left, '/instructions/'), 0);
  assert.deepEqual(left.filter((k) => k.endsWith('global.bin')).map((k) => k.replace(/^.*rounds\//, '')), ['000004/global.bin', '000005/global.bin']);
  assert.ok(countBy(left, '/state/') < countBy(all, '/state/'), `${countBy(left, '/state/')} packs left of ${countBy(all, '/state/')}`);
  assert.ok(countBy(left, '/state-shards/') < countBy(all, '/state-shards/'));
});

test('a run written before packed client state is refused with what to do, by resume and by gc', async () => {
  const config = experiment({ gc: 'off' });
  await assert.rejects(runWith('old', config, stopAtRound(1)), /stopped before round 1/);
  const store = await storeOf();
  const commit = decodeJson(await store.get(keys.commit('old', 0))) as Record<string, unknown>;
  const { stateShards: _dropped, ...rest } = commit;
  await store.put(keys.commit('old', 0), encodeJson({ ...rest, stateIndexKey: 'runs/old/rounds/000000/state-index.json' }));
  const older = (err: unknown) => err instanceof RunFailedError && /older fedsim .* start a new run id/.test(err.message);
  await assert.rejects(runWith('old', config), older);
  await assert.rejects(collectGarbage(store, 'old'), older);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodePartition } from '@fedsim/fl/data';
import { keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import type { BlobStore } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { exportPartition } from '../src/partition-command.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-partition-export-'));
const rt = await embeddedRuntime({ root: dir, workers: 2, backend: 'wasm' });
after(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

const experiment = (partition: Record<string, unknown>) =>
  parseExperiment({
    name: 'roundtrip',
    seed: 5,
    data: { kind: 'synthetic', numSamples: 480, featureShape: [8], numClasses: 4 },
    partition,
    model: 'mlp',
    algorithm: { name: 'fedavg' },
    rounds: 2,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 2 },
  });

const run = (runId: string, partition: Record<string, unknown>) =>
  runExperiment(experiment(partition), { runId, store: rt.store, transport: rt.transport, existing: 'fresh' });

async function manifest(store: BlobStore, runId: string) {
  const { partition, meta } = decodePartition(await store.get(keys.partition(runId)));
  return { partition, histograms: meta['histograms'] };
}

test("export → import reproduces a run: same manifest, same final model; label counts keep every client's counts", async () => {
  const original = await run('drawn', { kind: 'dirichlet', numClients: 6, alpha: 0.3, minSamples: 10 });

  const indicesFile = join(dir, 'drawn.indices.json');
  await writeFile(indicesFile, await exportPartition(rt.store, 'drawn', 'indices'));
  const replay = await run('from-indices', { kind: 'indices', file: indicesFile, numClients: 6 });
  assert.deepEqual(await manifest(rt.store, 'from-indices'), await manifest(rt.store, 'drawn'));
  assert.equal(replay.finalModelSha256, original.finalModelSha256);

  const countsFile = join(dir, 'drawn.label-counts.json');
  await writeFile(countsFile, await exportPartition(rt.store, 'drawn', 'label-counts'));
  await run('from-counts', { kind: 'label-counts', file: countsFile, numClients: 6 });
  const [redrawn, drawn] = [await manifest(rt.store, 'from-counts'), await manifest(rt.store, 'drawn')];
  assert.deepEqual(redrawn.histograms, drawn.histograms);
  assert.notDeepEqual(redrawn.partition, drawn.partition);
});

test('exporting a run that is not in the store says where it looked', async () => {
  await assert.rejects(exportPartition(rt.store, 'nope', 'indices'), /no run 'nope' in dir:.*--out/);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeBlob } from '@fedsim/fl/params';
import { gatherTensors, selectRole, subSpec } from '@fedsim/fl';
import { keys, modelFor, parseExperiment, runExperiment } from '@fedsim/runtime';
import type { RoundRow } from '@fedsim/runtime';
import { loadDataset } from '@fedsim/runtime/data';
import { decodeModel, encodeModel } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-fedbabu-'));
after(() => rm(dir, { recursive: true, force: true }));

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const head = selectRole('head');
const body = selectRole('body');

test('fedbabu on the real engine: θ_g keeps its initial head bit for bit, uploads are body-sized', async () => {
  const rounds = 4;
  const config = parseExperiment({
    name: 'fedbabu-engine',
    seed: 5,
    data: { kind: 'synthetic', numSamples: 480, featureShape: [10], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: 6, alpha: 0.5 },
    model: 'mlp',
    algorithm: { name: 'fedbabu' },
    rounds,
    joinRatio: 0.5,
    // weight decay on: the frozen head must not decay either
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5, weightDecay: 0.01 },
    finetune: { epochs: 2, lr: 0.02 },
    eval: { every: 2 },
    // the test reads every round's updates after the run
    storage: { gc: 'off' },
  });
  const rows: RoundRow[] = [];
  const rt = await embeddedRuntime({ root: dir, workers: 2, backend: 'wasm' });
  try {
    await runExperiment(config, { runId: 'babu', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
  } finally {
    await rt.close();
  }
  const store = rt.store;
  const spec = modelFor(config, await loadDataset(config.data)).spec;
  const bodySpec = subSpec(spec, body);

  const initial = decodeModel(await store.get(keys.global('babu', 0)), spec);
  const initialHead = bytesOf(gatherTensors(spec, initial, head));
  for (let t = 1; t <= rounds; t++) {
    const g = decodeModel(await store.get(keys.global('babu', t)), spec);
    assert.ok(bytesOf(gatherTensors(spec, g, head)).equals(initialHead), `head of θ_g^${t} equals θ_g^0's`);
    assert.ok(!bytesOf(gatherTensors(spec, g, body)).equals(bytesOf(gatherTensors(spec, initial, body))), `body of θ_g^${t} trained`);
  }

  for (const row of rows) {
    assert.equal(row.succeeded, 3);
    const round = String(row.round).padStart(6, '0');
    const updates = await store.list(`runs/babu/rounds/${round}/updates/`);
    assert.equal(updates.length, 3);
    let expectedBytes = 0;
    for (const key of updates) {
      const bytes = await store.get(key);
      const values = decodeBlob(bytes).arrays['values'];
      assert.ok(values instanceof Float32Array);
      assert.equal(values.length, bodySpec.size, `${key} holds exactly the body's ${bodySpec.size} elements`);
      const client = Number(/updates\/(\d+)\//.exec(key)![1]);
      const bodyOnly = encodeModel(bodySpec, new Float32Array(bodySpec.size), { round: row.round, client });
      assert.equal(bytes.byteLength, bodyOnly.byteLength, `${key}: the body's encoding and nothing else`);
      expectedBytes += bodyOnly.byteLength;
    }
    assert.equal(row.uploadBytes, expectedBytes, `round ${row.round} upload bytes`);
  }

  const evals = rows.flatMap((r) => (r.evaluation ? [r.evaluation] : []));
  assert.equal(evals.length, 2);
  for (const e of evals) {
    assert.deepEqual(Object.keys(e).sort(), ['after', 'before', 'global', 'personalized']);
    assert.deepEqual(e['personalized'], e['after']);
    assert.deepEqual(e['global'], e['before']);
    assert.equal(e['after']!.clients, 6);
    assert.notEqual(e['after']!.pooledLoss, e['before']!.pooledLoss, 'fine-tuning changed the model');
  }
});

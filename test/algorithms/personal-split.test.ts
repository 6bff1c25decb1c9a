import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { derivedSeed, PERSONAL_STATE, sampleClients, withPersonal } from '@fedsim/fl/algorithms';
import { clientData, decodePartition } from '@fedsim/fl/data';
import { gatherTensors } from '@fedsim/fl';
import { algorithmFor, keys, modelFor, parseExperiment, runExperiment } from '@fedsim/runtime';
import type { RoundRow } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { loadDataset } from '@fedsim/runtime/data';
import { committedStateRefs, decodeModel, loadState } from '@fedsim/runtime/engine';
import { createHandlers } from '@fedsim/runtime/wiring';

// FedPer (personal head) and LG-FedAvg (personal body) differ only in their declaration.
const dir = await mkdtemp(join(tmpdir(), 'fedsim-personal-split-'));
after(() => rm(dir, { recursive: true, force: true }));

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

for (const ALGORITHM of ['fedper', 'lgfedavg']) {
  test(`${ALGORITHM} on the real engine: personal tensors persist per client and never reach θ_g`, async () => {
    const config = parseExperiment({
      name: `${ALGORITHM}-engine`,
      seed: 3,
      data: { kind: 'synthetic', numSamples: 480, featureShape: [10], numClasses: 3 },
      partition: { kind: 'dirichlet', numClients: 6, alpha: 0.5 },
      model: 'mlp',
      algorithm: { name: ALGORITHM },
      rounds: 4,
      joinRatio: 0.5,
      train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
      eval: { every: 4 },
      // the test reads every round's blobs after the run
      storage: { gc: 'off' },
    });
    // In-process handlers (the same ones a worker thread runs), so the replay below uses the same
    // wasm backend as the run and must reproduce its bytes exactly.
    const store = new LocalDirBlobStore(dir);
    const transport = new EmbeddedTransport({ handlers: await createHandlers({ store: { kind: 'dir', root: dir }, backend: 'wasm' }), concurrency: 1 });
    const rows: RoundRow[] = [];
    const run = ALGORITHM;
    try {
      await runExperiment(config, { runId: run, store, transport, observer: { onRound: (r) => void rows.push(r) } });
    } finally {
      await transport.close();
    }
    const dataset = await loadDataset(config.data);
    const model = modelFor(config, dataset);
    const spec = model.spec;
    const { hooks, uploadSpec } = algorithmFor(config, model, 6);
    const partition = decodePartition(await store.get(keys.partition(run))).partition;
    const globals = await Promise.all([0, 1, 2, 3, 4].map(async (t) => decodeModel(await store.get(keys.global(run, t)), spec)));

    // θ_g's personal tensors are the initial ones after every round; its shared ones trained.
    const initPersonal = bytesOf(gatherTensors(spec, globals[0]!, hooks.personal));
    for (const [t, g] of globals.entries()) assert.ok(bytesOf(gatherTensors(spec, g, hooks.personal)).equals(initPersonal), `θ_g^${t}`);
    assert.ok(!bytesOf(gatherTensors(spec, globals[4]!, hooks.shared)).equals(bytesOf(gatherTensors(spec, globals[0]!, hooks.shared))));

    // A client that takes part in two rounds r1 < r2 (and none between).
    const rounds = [0, 1, 2, 3].map((t) => sampleClients(config.seed, t, 6, 3));
    const pick = [0, 1, 2, 3, 4, 5].flatMap((c) => {
      const mine = rounds.flatMap((cs, t) => (cs.includes(c) ? [t] : []));
      return mine.length >= 2 ? [{ c, r1: mine[0]!, r2: mine[1]! }] : [];
    })[0];
    assert.ok(pick, 'the sampled rounds contain a client that participates twice');
    const { c, r1, r2 } = pick;
    const index = async (t: number) => (await committedStateRefs(store, run, t, [c])).get(c);

    // Its personal entry written in r1 is the one the index still holds when r2 starts.
    const stateKey1 = (await index(r1))?.[PERSONAL_STATE]?.key;
    assert.match(stateKey1 ?? '', new RegExp(`rounds/0*${r1}/state/${c}/`));
    assert.equal((await index(r2 - 1))?.[PERSONAL_STATE]?.key, stateKey1);
    const personal1 = (await loadState(store, await index(r1)))![PERSONAL_STATE]!;
    assert.ok(!bytesOf(personal1).equals(initPersonal), 'the personal tensors were trained in r1');
    const stateKey2 = (await index(r2))?.[PERSONAL_STATE]?.key;
    assert.notEqual(stateKey2, stateKey1, 'r2 stored new personal tensors');

    // Replaying round r2 from θ_g^{r2} + the r1 personal tensors reproduces the stored bytes exactly.
    const state = { [PERSONAL_STATE]: personal1 };
    const split = partition.clients[c]!;
    const replay = (start: Float32Array) =>
      hooks.fit({
        clientId: c, round: r2, global: globals[r2]!, start, state, instruction: undefined,
        train: clientData(dataset, split.train), seed: derivedSeed(config.seed, 'train', r2, c),
      });
    const fit = await replay(withPersonal(spec, globals[r2]!, hooks.personal, state));
    const [updateKey, ...more] = await store.list(`runs/${run}/rounds/${String(r2).padStart(6, '0')}/updates/${c}/`);
    assert.ok(updateKey && more.length === 0);
    const upload = decodeModel(await store.get(updateKey), uploadSpec);
    assert.equal(upload.length, uploadSpec.size, 'the upload carries the shared tensors only');
    assert.ok(bytesOf(upload).equals(bytesOf(gatherTensors(spec, fit.trained, hooks.shared))), 'replayed upload');
    const personal2 = (await loadState(store, await index(r2)))![PERSONAL_STATE]!;
    assert.ok(bytesOf(personal2).equals(bytesOf(gatherTensors(spec, fit.trained, hooks.personal))), 'replayed personal');
    // …and starting from θ_g's (initial) personal tensors instead would not.
    const wrong = await replay(globals[r2]!);
    assert.ok(!bytesOf(upload).equals(bytesOf(gatherTensors(spec, wrong.trained, hooks.shared))));

    const evaluation = rows.at(-1)?.evaluation;
    assert.ok(evaluation?.['personalized'] && !evaluation['global'], 'personalised results only (θ_g is no model by itself)');
  });
}

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import type { BlobStore, RoundRow, RunSummary } from '@fedsim/runtime';
import { decodeInstruction, decodeModel } from '@fedsim/runtime/engine';
import { committedStateRefs, loadState } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { createModel } from '@fedsim/fl/models';
import {
  EMA_STATE,
  LAST_STATE,
  candidatesOf,
  fedobpOptions,
  patchFromInstruction,
  personalisation,
} from '@fedsim/fl/algorithms';
import type { FedObpReport } from '@fedsim/fl/algorithms';

const SEED = 13;
const ROUNDS = 4;

/** 6 clients, 3 per round for 4 rounds: some clients return (θ_last path), some never train (first visit). */
function experiment(algorithm: Record<string, unknown>) {
  return parseExperiment({
    name: 'fedobp-engine',
    seed: SEED,
    data: { kind: 'synthetic', numSamples: 720, featureShape: [12], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: 6, alpha: 0.3, minSamples: 10, testRatio: 0.25 },
    model: 'mlp',
    algorithm,
    rounds: ROUNDS,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 2 },
    // the test reads every round's blobs after the run
    storage: { gc: 'off' },
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-fedobp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  summary: RunSummary;
  rows: RoundRow[];
  store: BlobStore;
  close: () => Promise<void>;
}

/** One embedded run; the caller closes it after reading the store. */
async function run(runId: string, algorithm: Record<string, unknown>): Promise<Outcome> {
  const rt = await embeddedRuntime({ root: join(dir, runId), workers: 1, backend: 'wasm' });
  const rows: RoundRow[] = [];
  try {
    const summary = await runExperiment(experiment(algorithm), {
      runId,
      store: rt.store,
      transport: rt.transport,
      observer: { onRound: (r) => void rows.push(r) },
    });
    return { summary, rows, store: rt.store, close: () => rt.close() };
  } catch (err) {
    await rt.close();
    throw err;
  }
}

async function finished(runId: string, algorithm: Record<string, unknown>) {
  const o = await run(runId, algorithm);
  await o.close();
  return o;
}

test('q = 1 personalises nothing: exactly FedAvg’s global model and evaluation', async () => {
  const [obp, avg, obpHalf] = [
    await finished('q1', { name: 'fedobp', q: 1 }),
    await finished('avg', { name: 'fedavg' }),
    await finished('qhalf', { name: 'fedobp', q: 0.5 }),
  ];
  assert.equal(obp.summary.finalModelSha256, avg.summary.finalModelSha256);
  assert.deepEqual(obp.summary.final?.results['personalized'], avg.summary.final?.results['personalized']);
  for (const row of obp.rows) {
    for (const r of Object.values(row.prepareReports)) assert.equal((r as FedObpReport).personalised, 0);
  }
  // The comparison is sensitive: with real patches the global trajectory differs.
  assert.notEqual(obpHalf.summary.finalModelSha256, avg.summary.finalModelSha256);
});

test('q = 0 personalises everything: every client keeps its own model, exactly as Local-only', async () => {
  const obp = await finished('q0', { name: 'fedobp', q: 0 });
  const loc = await finished('local', { name: 'local' });
  const obpFinal = obp.summary.final?.results['personalized'];
  assert.ok(obpFinal);
  assert.deepEqual(obpFinal, loc.summary.final?.results['personalized']);
  assert.equal(obpFinal.clients, 6);
  // and not by accident: FedAvg's personalised (= global) result differs
  const avg = await finished('avg0', { name: 'fedavg' });
  assert.notDeepEqual(obpFinal, avg.summary.final?.results['personalized']);
  for (const row of obp.rows.slice(0, -1)) {
    for (const r of Object.values(row.prepareReports)) {
      assert.equal((r as FedObpReport).personalised, (r as FedObpReport).candidates);
    }
  }
});

test('patches are computed server side from stored state; workers download θ_g + the patch only', async () => {
  const opts = fedobpOptions.parse({ q: 0.995 });
  const o = await run('q995', { name: 'fedobp', q: opts.q });
  try {
    const model = createModel('mlp', { inputShape: [12], numClasses: 3 });
    const spec = model.spec;
    const cands = candidatesOf(spec, false);
    // The first-visit rule rebuilds θ^0 from the seed; the engine's round-0 model must be that.
    const global0 = decodeModel(await o.store.get(keys.global('q995', 0)), spec);
    assert.deepEqual(global0, model.init(SEED));

    const fullBytes = 4 * spec.size;
    let returning = 0;
    for (let round = 1; round < ROUNDS; round++) {
      const index = await committedStateRefs(o.store, 'q995', round - 1);
      const global = decodeModel(await o.store.get(keys.global('q995', round)), spec);
      // Row t reports what the server prepared for round t.
      const reports = o.rows[round]!.prepareReports;
      const clients = Object.keys(reports).map(Number);
      assert.equal(clients.length, 3, `round ${round} has 3 prepared clients`);
      for (const clientId of clients) {
        const refs = index.get(clientId);
        const state = await loadState(o.store, refs);
        const last = state?.[LAST_STATE] ?? global0;
        if (state?.[LAST_STATE]) returning++;
        const expected = personalisation(opts, cands, last, global, undefined, true).plan;
        const patch = patchFromInstruction(
          decodeInstruction(await o.store.get(keys.instruction('q995', round, clientId))),
          spec.size,
        );
        assert.deepEqual(patch, expected.patch, `round ${round} client ${clientId}`);
        assert.ok(patch.indices.length > 0 && patch.indices.length <= Math.ceil(0.005 * spec.size) + 1);
        const report = reports[String(clientId)] as FedObpReport;
        assert.equal(report.personalised, patch.indices.length);
        assert.equal(report.patchBytes, 8 * patch.indices.length);
        assert.equal(report.fullModelBytes, fullBytes);
        assert.ok(report.patchBytes < fullBytes / 20);
        assert.equal(report.firstVisit, !state?.[LAST_STATE]);
        assert.ok(Object.keys(report.byTensor).every((n) => spec.tensors.some((t) => t.name === n)));
      }
    }
    assert.ok(returning > 0, 'some client was prepared from its stored θ_last');

    // Train jobs read θ_g and the patch, never a client's stored full model.
    const globalBlob = (await o.store.get(keys.global('q995', 1))).byteLength;
    for (const row of o.rows) {
      assert.ok(row.downloadBytes > row.succeeded * globalBlob, `round ${row.round} downloads θ_g per client`);
      assert.ok(
        row.downloadBytes < row.succeeded * (globalBlob + fullBytes / 20),
        `round ${row.round}: ${row.downloadBytes} bytes is more than θ_g + a small patch per client`,
      );
    }
    // The final state index holds θ_last for every client that trained, and no EMA (off).
    const lastIndex = await committedStateRefs(o.store, 'q995', ROUNDS - 1);
    const trained = new Set(o.rows.flatMap((r) => Object.keys(r.prepareReports)));
    for (const refs of lastIndex.values()) {
      assert.ok(refs[LAST_STATE]);
      assert.equal(refs[EMA_STATE], undefined);
    }
    assert.ok(trained.size > 0);
  } finally {
    await o.close();
  }
});

test('EMA, layer normalisation, sq_diff and head-only run end to end and keep S_i in the store', async () => {
  const o = await run('ema', {
    name: 'fedobp',
    q: 0.9,
    ema: true,
    alpha: 0.3,
    norm: 'layer',
    score: 'sq_diff',
    headOnly: true,
    emaOnEval: true,
  });
  try {
    assert.equal(o.rows.length, ROUNDS);
    const index = await committedStateRefs(o.store, 'ema', ROUNDS - 2);
    const withEma = [...index.values()].filter((refs) => refs[EMA_STATE]);
    assert.ok(withEma.length > 0);
    const state = await loadState(o.store, withEma[0]);
    const model = createModel('mlp', { inputShape: [12], numClasses: 3 });
    assert.equal(state?.[EMA_STATE]?.length, candidatesOf(model.spec, true).size);
    for (const row of o.rows.slice(0, -1)) {
      for (const r of Object.values(row.prepareReports)) {
        assert.ok(Object.keys((r as FedObpReport).byTensor).every((n) => n.startsWith('classifier')));
      }
    }
    assert.ok((o.summary.final?.results['personalized']?.pooledAccuracy ?? 0) > 0);
  } finally {
    await o.close();
  }
});

test('the fedobp configs parse; the smoke config spells out every switch at its default', async () => {
  const dirUrl = new URL('../../configs/', import.meta.url);
  const names = (await readdir(dirUrl)).filter((n) => /^fedobp-.*\.yaml$/.test(n));
  assert.ok(names.includes('fedobp-smoke.yaml') && names.includes('fedobp-fmnist-dir0.1.yaml'), names.join(', '));
  for (const name of names) {
    const cfg = parseExperiment(parseYaml(await readFile(new URL(name, dirUrl), 'utf8')), name);
    assert.equal(cfg.algorithm.name, 'fedobp', name);
    const { name: _n, ...options } = cfg.algorithm;
    assert.deepEqual(Object.keys(options).sort(), Object.keys(fedobpOptions.parse({})).sort(), `${name} names every switch`);
  }
  const smoke = parseYaml(await readFile(new URL('fedobp-smoke.yaml', dirUrl), 'utf8')) as { algorithm: Record<string, unknown> };
  const { name: _n, ...smokeOptions } = smoke.algorithm;
  assert.deepEqual(smokeOptions, fedobpOptions.parse({}));
  const reference = parseExperiment(parseYaml(await readFile(new URL('fedobp-fmnist-dir0.1.yaml', dirUrl), 'utf8')));
  assert.equal(reference.model, 'fedavgcnn');
  assert.equal(reference.rounds, 400);
  assert.deepEqual(reference.algorithm, { name: 'fedobp', ...fedobpOptions.parse({ ema: true, alpha: 0.3 }) });
});

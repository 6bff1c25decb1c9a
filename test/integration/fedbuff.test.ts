import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodePartition } from '@fedsim/fl/data';
import { CSV_HEADER, csvLine, keys, runExperiment } from '@fedsim/runtime';
import type { BlobStore, RoundRow } from '@fedsim/runtime';
import { decodeModel } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { createModel } from '@fedsim/fl/models';
import { derivedSeed } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { initCompute } from '@fedsim/fl/compute';
import { trainLocal } from '@fedsim/fl/train';
import { algorithmEnv } from '@fedsim/runtime';
import { loadDataset } from '@fedsim/runtime/data';
import { fedBuffExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-fedbuff-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = createModel('mlp', { inputShape: [12], numClasses: 3 }).spec;
const modelAt = async (store: BlobStore, runId: string, version: number) => decodeModel(await store.get(keys.global(runId, version)), spec);
const brief = (r: RoundRow) => r.virtual!.arrivals!.map((a) => `${a.clientId}/v${a.baseVersion}/s${a.staleness}`);

test('FedBuff in the engine: hand-computed arrivals and weights, each delta against its own base model; resume mid-run', async () => {
  // gc off: the test reads every round's dispatch updates after the run
  const config = fedBuffExperiment({ storage: { gc: 'off' } });
  const rt = await embeddedRuntime({ root: join(dir, 'a'), workers: 2, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    const summary = await runExperiment(config, { runId: 'fb', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    // Equal devices: every dispatch takes T virtual seconds and ties go to the lower client id.
    // t=0: clients 3, 1, 2 dispatched from v0. t=T: 1, 2 arrive → v1; 3 arrives one version late;
    // refills: 0 (from v0, after 1 arrived), then 2 and 1 from v1. t=2T: 0 (v0, s1) → v2; then
    // 1, 2 (v1, now s1) → v3; refills 0 from v2, 2 from v3. t=3T: 0 (s1), 2 (s0) → v4.
    assert.deepEqual(rows.map(brief), [
      ['1/v0/s0', '2/v0/s0'],
      ['3/v0/s1', '0/v0/s1'],
      ['1/v1/s1', '2/v1/s1'],
      ['0/v2/s1', '2/v3/s0'],
    ]);
    const partition = decodePartition(await rt.store.get(keys.partition('fb'))).partition;
    assert.deepEqual(partition.clients.map((c) => c.train.length), [75, 75, 75, 75]);
    // Hand weights n_i·s(τ_i)/Σn with equal n: ½ fresh, ½·1/√2 one version late (not ½ each,
    // and not normalised by Σ n·s, which would cancel the discount of an all-stale flush).
    const late = 0.5 / Math.SQRT2;
    const handWeights = [
      [0.5, 0.5],
      [late, late],
      [late, late],
      [late, 0.5],
    ];
    for (const [r, row] of rows.entries()) {
      const current = await modelAt(rt.store, 'fb', r);
      const next = await modelAt(rt.store, 'fb', r + 1);
      const expected = Float64Array.from(current);
      for (const [i, a] of row.virtual!.arrivals!.entries()) {
        const trained = decodeModel(await rt.store.get(keys.dispatchUpdate('fb', r, a.dispatch, 1)), spec);
        const base = await modelAt(rt.store, 'fb', a.baseVersion);
        for (let k = 0; k < expected.length; k++) expected[k]! += handWeights[r]![i]! * (trained[k]! - base[k]!);
      }
      let worst = 0;
      for (let k = 0; k < expected.length; k++) worst = Math.max(worst, Math.abs(expected[k]! - next[k]!));
      assert.ok(worst < 1e-5, `round ${r}: model differs from the hand-weighted step by ${worst}`);
      assert.ok(next.some((x, k) => x !== current[k]), `round ${r} moved the model`);
      const cells = Object.fromEntries(CSV_HEADER.map((h, i) => [h, csvLine(row).split(',')[i]]));
      const s = row.virtual!.arrivals!.map((a) => a.staleness);
      assert.equal(cells['staleness_max'], String(Math.max(...s)));
      assert.equal(Number(cells['staleness_mean']), s.reduce((x, y) => x + y, 0) / s.length);
    }
    // The stale arrival of round 1 (client 3, dispatch 0) trained from v0, not from v1: retrained here.
    const stale = rows[1]!.virtual!.arrivals![0]!;
    await initCompute({ prefer: 'wasm', log: () => undefined });
    const env = algorithmEnv(config, createModel('mlp', { inputShape: [12], numClasses: 3 }), 4);
    const dataset = await loadDataset(config.data);
    const retrained = await trainLocal(env.model, await modelAt(rt.store, 'fb', 0), clientData(dataset, partition.clients[stale.clientId]!.train), {
      ...env.train,
      seed: derivedSeed(config.seed, 'fedbuff-train', stale.dispatch, stale.clientId),
    });
    const stored = decodeModel(await rt.store.get(keys.dispatchUpdate('fb', 1, stale.dispatch, 1)), spec);
    assert.ok(stored.every((x, k) => Math.abs(x - retrained.params[k]!) < 1e-5), 'the stale client trained from the version it downloaded');
    assert.deepEqual(summary.staleness, { updates: 8, mean: 5 / 8, max: 1, histogram: { '0': 3, '1': 5 } });
    assert.equal(summary.virtualSeconds, rows.at(-1)!.virtual!.endSeconds);

    // Stopped after round 1's commit (the observer throws), then resumed: the same final model,
    // with garbage collected after each commit (the default) while older versions are still trained from.
    const collected = fedBuffExperiment();
    let seen = 0;
    await assert.rejects(
      runExperiment(collected, {
        runId: 'fb-stop',
        store: rt.store,
        transport: rt.transport,
        observer: {
          onRound: () => {
            if (++seen === 2) throw new Error('stop after round 1');
          },
        },
      }),
      /stop after round 1/,
    );
    assert.equal(await rt.store.exists(keys.commit('fb-stop', 2)), false);
    const resumed = await runExperiment(collected, { runId: 'fb-stop', store: rt.store, transport: rt.transport });
    assert.equal(resumed.finalModelSha256, summary.finalModelSha256);
  } finally {
    await rt.close();
  }
});

test('FedBuff composes with personalised state (FedPer, oncePerFlush) and a robust rule; refuses an explicit cohortSize > 1 before writing anything', async () => {
  const rt = await embeddedRuntime({ root: join(dir, 'b'), workers: 2, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    const fedper = await runExperiment(fedBuffExperiment({ algorithm: { name: 'fedper' } }), {
      runId: 'fp', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) },
    });
    assert.equal(rows.length, 4);
    assert.ok(fedper.final && fedper.final.results['personalized']!.pooledAccuracy > 0.34);
    // Uneven devices: the fastest client comes back within one flush, which per-client state cannot
    // follow; oncePerFlush makes it wait for the flush, and the run goes through.
    const uneven = (oncePerFlush: boolean) => {
      const c = fedBuffExperiment({ algorithm: { name: 'fedper' } });
      const system = c.system!;
      const devices = {
        kind: 'sampled',
        computeSamplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 },
        downBytesPerSecond: { kind: 'fixed', value: 1e8 },
        upBytesPerSecond: { kind: 'fixed', value: 1e8 },
      } as const;
      return { ...c, system: { ...system, devices, mode: { ...system.mode, bufferSize: 3, maxStaleness: 2, oncePerFlush } } } as typeof c;
    };
    await assert.rejects(
      runExperiment(uneven(false), { runId: 'fp-twice', store: rt.store, transport: rt.transport }),
      /system\.mode fedbuff: algorithm 'fedper': client \d+ arrives twice in round \d+ .*oncePerFlush: true/,
    );
    const once: RoundRow[] = [];
    await runExperiment(uneven(true), { runId: 'fp-once', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void once.push(r) } });
    for (const r of once) assert.equal(new Set(r.sampled).size, r.sampled.length, `round ${r.round}: each client at most once`);
    assert.equal(once.length, 4);
    // A robust rule composes: the coordinate-wise median of the staleness-rebased updates.
    const median: RoundRow[] = [];
    await runExperiment(fedBuffExperiment({ aggregation: { robust: 'median' } }), {
      runId: 'fb-median', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void median.push(r) },
    });
    assert.deepEqual(median.map((r) => [r.succeeded, r.aggregation?.['robust']]), Array.from({ length: 4 }, () => [2, 'median']));
    await assert.rejects(
      runExperiment(fedBuffExperiment({ cohortSize: 2 }), { runId: 'fo', store: rt.store, transport: rt.transport }),
      /system\.mode fedbuff: cohortSize 2: FedBuff rebases every update/,
    );
    assert.deepEqual(await rt.store.list('runs/fo/'), []);
  } finally {
    await rt.close();
  }
});

test('FedBuff: stale arrivals are data, never trained; every trained dispatch is an arrival', async () => {
  const base = fedBuffExperiment({ storage: { gc: 'off' } });
  const config = { ...base, rounds: 2, system: { ...base.system!, mode: { ...base.system!.mode, maxStaleness: 0 } } } as typeof base;
  const rt = await embeddedRuntime({ root: join(dir, 'c'), workers: 2, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    await runExperiment(config, { runId: 'st', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    // As in the first test, clients 3 and 0 (from v0) arrive after v1 exists: now dropped as stale.
    assert.deepEqual(rows[1]!.virtual!.dropped.slice(0, 2), [{ clientId: 3, reason: 'stale' }, { clientId: 0, reason: 'stale' }]);
    assert.ok(rows.every((r) => r.virtual!.arrivals!.every((a) => a.staleness === 0)));
    const trained = (await rt.store.list('runs/st/rounds/')).flatMap((k) => /dispatches\/(\d+)\//.exec(k)?.[1] ?? []).map(Number);
    const arrived = rows.flatMap((r) => r.virtual!.arrivals!.map((a) => a.dispatch));
    assert.deepEqual([...new Set(trained)].sort((a, b) => a - b), [...arrived].sort((a, b) => a - b));
  } finally {
    await rt.close();
  }
});

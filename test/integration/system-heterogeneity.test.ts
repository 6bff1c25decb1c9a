import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CSV_HEADER, csvLine, keys, runExperiment } from '@fedsim/runtime';
import type { RoundRow } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { heterogeneousExperiment, syntheticExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-system-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('dropped clients are data, never trained; virtual time adds up; a resume keeps the plan', async () => {
  // gc off: the test looks for (the absence of) every round's updates after the run
  const config = { ...heterogeneousExperiment(), storage: { gc: 'off' as const, keepGlobalModels: 'all' as const } };
  const rows: RoundRow[] = [];
  const rt = await embeddedRuntime({ root: join(dir, 'a'), workers: 2, backend: 'wasm' });
  try {
    const summary = await runExperiment(config, { runId: 's1', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    assert.equal(rows.length, config.rounds);
    let clock = 0;
    const drops: Record<string, number> = { deadline: 0, offline: 0, overcommit: 0, stale: 0 };
    for (const row of rows) {
      const v = row.virtual!;
      assert.ok(v, `round ${row.round} has its virtual time`);
      assert.equal(v.startSeconds, clock);
      assert.ok(v.endSeconds > v.startSeconds && v.endSeconds - v.startSeconds <= 60);
      clock = v.endSeconds;
      // Trained + dropped = sampled, and at most K = 3 trained.
      assert.ok(row.sampled.length <= 3);
      assert.deepEqual([...row.sampled, ...v.dropped.map((d) => d.clientId)].sort((a, b) => a - b), v.sampled);
      for (const d of v.dropped) {
        drops[d.reason]!++;
        const updates = await rt.store.list(`runs/s1/rounds/${String(row.round).padStart(6, '0')}/updates/${d.clientId}/`);
        assert.deepEqual(updates, [], `client ${d.clientId} (${d.reason}) was never trained in round ${row.round}`);
      }
      assert.equal(row.succeeded, row.sampled.length);
      const cells = Object.fromEntries(CSV_HEADER.map((h, i) => [h, csvLine(row).split(',')[i]]));
      assert.equal(Number(cells['virtual_clock_seconds']), Number(v.endSeconds.toFixed(3)));
      assert.equal(cells['dropped_clients'] === '', v.dropped.length === 0);
    }
    assert.ok(Object.values(drops).some((n) => n > 0), 'this configuration drops clients');
    assert.equal(summary.virtualSeconds, clock);
    assert.deepEqual(summary.droppedClients, drops, 'summary.json counts the drops of every round by reason');
    assert.ok(await rt.store.exists(keys.systemPlan('s1')));

    // Resuming the finished run replays the committed rows with the stored plan.
    const replay: RoundRow[] = [];
    const again = await runExperiment(config, {
      runId: 's1',
      store: rt.store,
      transport: rt.transport,
      observer: { onStart: (info) => void replay.push(...info.committed) },
    });
    assert.equal(again.finalModelSha256, summary.finalModelSha256);
    assert.deepEqual(replay.map((r) => r.virtual), rows.map((r) => r.virtual));
  } finally {
    await rt.close();
  }
});

test('without a system block nothing changes: no plan, no virtual fields', async () => {
  const rt = await embeddedRuntime({ root: join(dir, 'b'), workers: 1, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    const summary = await runExperiment(syntheticExperiment({ rounds: 1 }), { runId: 'plain', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    assert.equal(rows[0]!.virtual, undefined);
    assert.equal(summary.virtualSeconds, undefined);
    assert.equal(summary.droppedClients, undefined);
    assert.equal(await rt.store.exists(keys.systemPlan('plain')), false);
  } finally {
    await rt.close();
  }
});

test('FedOBP in virtual time pays the bytes the engine ships: θ_g and its patch instruction', async () => {
  // Downloads at 1 B/s, everything else instant: a round lasts as many virtual seconds as its
  // largest client download in bytes.
  const fast = { kind: 'fixed', value: 1e12 };
  const config = syntheticExperiment({
    name: 'it-system-fedobp',
    algorithm: { name: 'fedobp', q: 0.9 },
    system: { devices: { kind: 'sampled', computeSamplesPerSecond: fast, downBytesPerSecond: { kind: 'fixed', value: 1 }, upBytesPerSecond: fast } },
    // the test reads every round's instructions after the run
    storage: { gc: 'off' },
  });
  const rt = await embeddedRuntime({ root: join(dir, 'c'), workers: 1, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    await runExperiment(config, { runId: 'obp', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    // Round 0's patches are empty (θ_last = θ^0 = θ_g, flat scores), so the plan's nominal patch
    // over-charges there; from round 1 on every patch has its nominal size.
    for (const row of rows.slice(1)) {
      const global = (await rt.store.get(keys.global('obp', row.round))).byteLength;
      let largest = 0;
      for (const c of row.sampled) largest = Math.max(largest, global + (await rt.store.get(keys.instruction('obp', row.round, c))).byteLength);
      const planned = row.virtual!.endSeconds - row.virtual!.startSeconds;
      // the meta's threshold and round digits may move the blob by one 8-byte padding step
      assert.ok(Math.abs(planned - largest) <= 8, `round ${row.round}: planned ${planned} B, shipped ${largest} B`);
      assert.ok(planned > global, 'the patch is charged on top of θ_g');
    }
  } finally {
    await rt.close();
  }
});

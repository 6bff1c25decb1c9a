import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleClients } from '../../src/algorithms/sampling.js';
import { alwaysOnline, probabilityAvailability, traceAvailability } from '../../src/system/availability.js';
import type { Availability } from '../../src/system/availability.js';
import { syncModeSchema } from '../../src/system/config.js';
import { planSyncRound, planSyncRounds } from '../../src/system/selection.js';
import type { SyncPlanInput } from '../../src/system/selection.js';

const sync = (over: Record<string, unknown> = {}) => syncModeSchema.parse({ kind: 'sync', ...over });
// Six clients, all sampled when K = 3 and overcommit = 2; their fixed durations:
const SECONDS = [5, 3, 8, 1, 9, 2];
const six = (mode = sync({ overcommit: 2 }), availability: Availability = alwaysOnline): Omit<SyncPlanInput, 'rounds'> => ({
  seed: 7,
  numClients: 6,
  perRound: 3,
  mode,
  availability,
  secondsOf: (c) => SECONDS[c]!,
});

test('over-commitment keeps the first K to finish: arrivals 3@1, 5@2, 1@3, then 0, 2, 4 are too late', () => {
  const plan = planSyncRound(0, 0, six());
  assert.deepEqual(plan.sampled, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(plan.kept, [1, 3, 5]);
  assert.deepEqual(plan.dropped, [
    { clientId: 0, reason: 'overcommit' },
    { clientId: 2, reason: 'overcommit' },
    { clientId: 4, reason: 'overcommit' },
  ]);
  // The round closes when the K-th (client 1, 3 s) arrives.
  assert.equal(plan.endSeconds, 3);
});

test('a deadline closes the round before K arrive: only clients 3 (1 s) and 5 (2 s) beat 2.5 s', () => {
  const plan = planSyncRound(0, 10, six(sync({ overcommit: 2, deadlineSeconds: 2.5 })));
  assert.deepEqual(plan.kept, [3, 5]);
  assert.deepEqual(
    plan.dropped.map((d) => `${d.clientId}:${d.reason}`),
    ['0:deadline', '1:deadline', '2:deadline', '4:deadline'],
  );
  assert.equal(plan.startSeconds, 10);
  assert.equal(plan.endSeconds, 12.5);
});

test('a deadline later than the K-th arrival drops the slow ones as over-committed, not late', () => {
  const plan = planSyncRound(0, 0, six(sync({ overcommit: 2, deadlineSeconds: 6 })));
  assert.deepEqual(plan.kept, [1, 3, 5]);
  assert.deepEqual(
    plan.dropped.map((d) => `${d.clientId}:${d.reason}`),
    ['0:overcommit', '2:deadline', '4:deadline'],
  );
  assert.equal(plan.endSeconds, 3);
});

test('equal finish times go to the lower client id', () => {
  const plan = planSyncRound(0, 0, { ...six(sync({ overcommit: 3 })), perRound: 2, secondsOf: (c) => (c < 4 ? 4 : 1) });
  // 4 and 5 at 1 s, then 0..3 tie at 4 s: 0 and 1 would win, but K = 2 is already reached.
  assert.deepEqual(plan.kept, [4, 5]);
  const three = planSyncRound(0, 0, { ...six(), secondsOf: (c) => (c < 4 ? 4 : 1) });
  assert.deepEqual(three.kept, [0, 4, 5]);
});

test('a client whose online window ends before it finishes is dropped as offline', () => {
  const trace = {
    devices: SECONDS.map((_, c) => ({
      computeSamplesPerSecond: 1,
      downBytesPerSecond: 1,
      upBytesPerSecond: 1,
      // client 3 (1 s) leaves at 0.5 s; client 5 is offline at the start and never sampled
      ...(c === 3 ? { online: [[0, 0.5]] as [number, number][] } : c === 5 ? { online: [[100, 200]] as [number, number][] } : {}),
    })),
  };
  const plan = planSyncRound(0, 0, six(sync({ overcommit: 2 }), traceAvailability(trace)));
  assert.deepEqual(plan.sampled, [0, 1, 2, 3, 4]);
  // Arrivals: 1@3, 0@5, 2@8, 4@9; client 3 gone at 0.5.
  assert.deepEqual(plan.kept, [0, 1, 2]);
  assert.deepEqual(
    plan.dropped.map((d) => `${d.clientId}:${d.reason}`),
    ['3:offline', '4:overcommit'],
  );
  assert.equal(plan.endSeconds, 8);
});

test('with everyone online, overcommit 1 and no deadline, the plan is exactly the default sampling', () => {
  const plans = planSyncRounds({ seed: 3, rounds: 5, numClients: 20, perRound: 4, mode: sync(), availability: alwaysOnline, secondsOf: (c) => c + 1 });
  plans.forEach((p, r) => {
    assert.deepEqual(p.kept, sampleClients(3, r, 20, 4));
    assert.deepEqual(p.dropped, []);
  });
});

test('rounds follow each other in virtual time: round r starts when round r−1 closed', () => {
  const plans = planSyncRounds({ ...six(), rounds: 3 });
  assert.deepEqual(plans.map((p) => [p.startSeconds, p.endSeconds]), [[0, 3], [3, 6], [6, 9]]);
});

test('per-round online probability: deterministic per (seed, round, client), and honoured in proportion', () => {
  const a = probabilityAvailability(1, 0.3);
  const b = probabilityAvailability(1, 0.3);
  let on = 0;
  for (let r = 0; r < 50; r++) {
    for (let c = 0; c < 100; c++) {
      assert.equal(a.isOnline(c, r, 0), b.isOnline(c, r, 0));
      if (a.isOnline(c, r, 0)) on++;
    }
  }
  assert.ok(on > 1350 && on < 1650, `${on} of 5000 online at p = 0.3`);
  const plan = planSyncRound(4, 0, { ...six(sync({ overcommit: 1 })), numClients: 100, availability: a, secondsOf: () => 1 });
  for (const c of plan.sampled) assert.ok(a.isOnline(c, 4, 0));
});

test('trace windows repeat with the period, and a window ending at the period runs on into the next', () => {
  const av = traceAvailability({
    periodSeconds: 100,
    devices: [{ computeSamplesPerSecond: 1, downBytesPerSecond: 1, upBytesPerSecond: 1, online: [[0, 10], [90, 100]] }],
  });
  assert.equal(av.isOnline(0, 0, 5), true);
  assert.equal(av.isOnline(0, 0, 50), false);
  assert.equal(av.isOnline(0, 0, 205), true);
  assert.equal(av.onlineUntil(0, 0, 205), 210);
  // 95 is in [90, 100), which joins [100, 110)
  assert.equal(av.onlineUntil(0, 0, 95), 110);
  assert.equal(av.onlineUntil(0, 0, 50), -Infinity);
});

test('a negative or non-finite duration is refused with the client named', () => {
  assert.throws(() => planSyncRound(0, 0, { ...six(), secondsOf: (c) => (c === 2 ? NaN : 1) }), /client 2 needs NaN virtual seconds/);
});

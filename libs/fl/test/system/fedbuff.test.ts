import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alwaysOnline } from '../../src/system/availability.js';
import { fedBuffModeSchema } from '../../src/system/config.js';
import { applyFedBuffStep, fedBuffWeights, planFedBuff, stalenessDiscount } from '../../src/system/fedbuff.js';

const mode = fedBuffModeSchema.parse({ kind: 'fedbuff', concurrency: 3, bufferSize: 2, maxStaleness: 1 });
// Three clients, always busy (C = 3), needing 1, 2 and 5 virtual seconds.
const input = { seed: 5, numClients: 3, mode, availability: alwaysOnline, steps: 4, secondsOf: (c: number) => [1, 2, 5][c]! };
const brief = (u: { clientId: number; baseVersion: number; staleness: number; arrivedAt: number }) =>
  `${u.clientId}/v${u.baseVersion}/s${u.staleness}@${u.arrivedAt}`;

test('FedBuff arrival order, staleness and refills match the hand-computed schedule', () => {
  const plan = planFedBuff(input);
  // t=1: 0 arrives (v0), refilled by 0 → 2. t=2: 0 and 1 tie, 0 first: buffer full → v1.
  // 1 arrives stale by 1; 0 (from v1) at 3 → v2. At 4: 0 (v2) then 1 (v1, s1) → v3.
  // At 5: 0 (v2, s1), then 2 (v0, s3 > 1) is dropped; at 6: 0 (v3) → v4.
  assert.deepEqual(
    plan.map((s) => [s.version, s.closesAt, s.updates.map(brief), s.dropped.map((d) => `${d.clientId}:${d.reason}@${d.at}`)]),
    [
      [1, 2, ['0/v0/s0@1', '0/v0/s0@2'], []],
      [2, 3, ['1/v0/s1@2', '0/v1/s0@3'], []],
      [3, 4, ['0/v2/s0@4', '1/v1/s1@4'], []],
      [4, 6, ['0/v2/s1@5', '0/v3/s0@6'], ['2:stale@5']],
    ],
  );
});

test('oncePerFlush: a buffered client waits for the flush, hand-computed', () => {
  const plan = planFedBuff({ ...input, mode: { ...mode, oncePerFlush: true } });
  // t=1: 0 buffered, stays busy; 2: 1 → v1, both redispatched from v1 (at 3, 4). 4 → v2, again
  // from v2 (5, 6). At 5: 0 buffered, then 2 (v0, s2 > 1) dropped and redispatched; 6 → v3; 8 → v4.
  assert.deepEqual(
    plan.map((s) => [s.version, s.closesAt, s.updates.map(brief), s.dropped.map((d) => `${d.clientId}:${d.reason}@${d.at}`)]),
    [
      [1, 2, ['0/v0/s0@1', '1/v0/s0@2'], []],
      [2, 4, ['0/v1/s0@3', '1/v1/s0@4'], []],
      [3, 6, ['0/v2/s0@5', '1/v2/s0@6'], ['2:stale@5']],
      [4, 8, ['0/v3/s0@7', '1/v3/s0@8'], []],
    ],
  );
  // One client cannot fill a buffer of two distinct clients: refused, where plain FedBuff takes it twice.
  const lone = { ...input, numClients: 1, mode: { ...mode, concurrency: 2 } };
  assert.equal(planFedBuff(lone)[0]!.updates.length, 2);
  assert.throws(() => planFedBuff({ ...lone, mode: { ...lone.mode, oncePerFlush: true } }), /with oncePerFlush a flush needs 2 distinct online clients/);
});

test('FedBuff plans are deterministic: same seed, same arrivals', () => {
  const many = { ...input, numClients: 40, steps: 30, mode: { ...mode, concurrency: 8, bufferSize: 4, maxStaleness: 3 }, secondsOf: (c: number, v: number) => 1 + ((c * 7 + v) % 11) };
  assert.deepEqual(planFedBuff(many), planFedBuff(many));
  assert.notDeepEqual(planFedBuff(many), planFedBuff({ ...many, seed: 6 }));
});

test('staleness weights: n_i · 1/√(1+τ_i) / Σ n_j, hand-computed', () => {
  const w = fedBuffWeights(
    [
      { numSamples: 10, staleness: 1 },
      { numSamples: 100, staleness: 0 },
      { numSamples: 100, staleness: 0 },
    ],
    { kind: 'polynomial', exponent: 0.5 },
  );
  assert.ok(Math.abs(w[0]! - 10 / Math.SQRT2 / 210) < 1e-15);
  assert.equal(w[1], 100 / 210);
  assert.equal(w[2], 100 / 210);
  // The per-version pitfall (NVFlare#4899) would give the lone 10-sample stale update half the step.
  assert.ok(w[0]! < 0.04);
  assert.equal(stalenessDiscount({ kind: 'polynomial', exponent: 0.5 }, 3), 0.5);
  assert.equal(stalenessDiscount({ kind: 'constant' }, 3), 1);
});

test('a FedBuff step adds each weighted delta against its own base model', () => {
  const next = applyFedBuffStep(new Float32Array([1, 1]), [
    { trained: new Float32Array([3, 1]), base: new Float32Array([1, 1]), weight: 0.5 },
    { trained: new Float32Array([1, 2]), base: new Float32Array([0, 0]), weight: 0.25 },
  ]);
  // 1 + 0.5·2 + 0.25·1 = 2.25; 1 + 0 + 0.25·2 = 1.5
  assert.deepEqual([...next], [2.25, 1.5]);
  assert.throws(() => fedBuffWeights([{ numSamples: 0, staleness: 0 }], { kind: 'constant' }), /numSamples 0/);
});

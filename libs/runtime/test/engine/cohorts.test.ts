import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoCohortSize, planCohorts } from '../../src/engine/cohorts.js';

// Sample counts with a spread, as a Dirichlet partition gives them.
const samplesOf = (id: number) => 5 + ((id * 7919) % 97);
const clients = Array.from({ length: 1000 }, (_, i) => (i * 37) % 5000);

test('every client lands in exactly one cohort of at most cohortSize clients, ids ascending', () => {
  const cohorts = planCohorts({ clients, samplesOf, cohortSize: 64 });
  assert.equal(cohorts.length, Math.ceil(clients.length / 64));
  const seen = cohorts.flatMap((c) => c.clients);
  assert.deepEqual([...seen].sort((a, b) => a - b), [...clients].sort((a, b) => a - b));
  for (const c of cohorts) {
    assert.ok(c.clients.length <= 64 && c.clients.length > 0);
    assert.deepEqual(c.clients, [...c.clients].sort((a, b) => a - b));
  }
  assert.deepEqual(cohorts.map((c) => c.index), cohorts.map((_, i) => i));
});

test('the split depends on the sampled ids only, not on their order', () => {
  const a = planCohorts({ clients, samplesOf, cohortSize: 50 });
  const b = planCohorts({ clients: [...clients].reverse(), samplesOf, cohortSize: 50 });
  assert.deepEqual(a, b);
});

test('cohorts are balanced by sample count', () => {
  const cohorts = planCohorts({ clients, samplesOf, cohortSize: 100 });
  const totals = cohorts.map((c) => c.clients.reduce((s, id) => s + samplesOf(id), 0));
  const mean = totals.reduce((s, t) => s + t, 0) / totals.length;
  // The heaviest client has 101 samples: a snake deal keeps cohorts within about one of it.
  assert.ok(Math.max(...totals) - Math.min(...totals) <= 101, `totals ${totals.join(', ')}`);
  assert.ok(Math.max(...totals) < mean * 1.05);
  const sizes = cohorts.map((c) => c.clients.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
});

test('cohortSize 1 is one cohort per client, in ascending id order', () => {
  const cohorts = planCohorts({ clients: [9, 3, 5], samplesOf, cohortSize: 1 });
  assert.deepEqual(cohorts, [{ index: 0, clients: [3] }, { index: 1, clients: [5] }, { index: 2, clients: [9] }]);
});

test('clients of different pools never share a cohort', () => {
  const poolOf = (id: number) => (id % 3 === 0 ? 'small' : id % 3 === 1 ? 'large' : undefined);
  const cohorts = planCohorts({ clients, samplesOf, poolOf, cohortSize: 40 });
  for (const c of cohorts) for (const id of c.clients) assert.equal(poolOf(id), c.pool);
  // unpooled first, then pools by name
  const order = cohorts.map((c) => c.pool ?? '');
  assert.deepEqual(order, [...order].sort());
});

test('a cohort size that is not a positive integer is refused', () => {
  assert.throws(() => planCohorts({ clients, samplesOf, cohortSize: 0 }), /positive integer/);
  assert.throws(() => planCohorts({ clients, samplesOf, cohortSize: 2.5 }), /positive integer/);
});

test('the automatic size gives about 64 cohorts of at most 256, and at least 16 clients per cohort while 8 cohorts remain', () => {
  assert.equal(autoCohortSize(1), 1);
  assert.equal(autoCohortSize(8), 1, 'up to 8 clients: one job each');
  assert.equal(autoCohortSize(10), 2);
  assert.equal(autoCohortSize(100), 13, 'K = 100: 8 cohorts, not 50 of 2');
  assert.equal(autoCohortSize(128), 16);
  assert.equal(autoCohortSize(1000), 16);
  assert.equal(autoCohortSize(10_000), 157);
  assert.equal(autoCohortSize(1_000_000), 256);
});

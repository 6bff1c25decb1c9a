import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SweepSpec } from '../../src/sweep/expand.js';
import { expandSweep, runIdFor, sweepSpecSchema } from '../../src/sweep/expand.js';

const base = {
  name: 'base',
  data: { kind: 'synthetic', numSamples: 200, featureShape: [4], numClasses: 2 },
  partition: { kind: 'dirichlet', numClients: 4, alpha: 0.5 },
  model: 'logreg',
  algorithm: { name: 'fedavg' },
  rounds: 3,
};
const spec = (extra: Record<string, unknown>): SweepSpec => sweepSpecSchema.parse({ name: 'sw', base, ...extra });

test('axes form a grid, an entry with several paths zips them, and overrides apply per value', () => {
  const plan = expandSweep(
    spec({
      axes: [
        { 'algorithm.name': ['fedavg', 'fedobp'] },
        { 'partition.alpha': [0.1, 0.5], 'train.lr': [0.01, 0.02] },
        { seed: [1, 2] },
      ],
      overrides: [
        { when: { 'algorithm.name': 'fedobp', 'partition.alpha': 0.1 }, set: { 'algorithm.q': 0.9 } },
        { when: { 'algorithm.name': 'fedobp', 'partition.alpha': 0.5 }, set: { 'algorithm.q': 0.8 } },
      ],
    }),
  );
  assert.equal(plan.runs.length, 8);
  assert.deepEqual(plan.axisPaths, ['algorithm.name', 'partition.alpha', 'train.lr', 'seed']);
  const byId = new Map(plan.runs.map((r) => [r.runId, r]));
  const obp = byId.get('sw.fedobp.alpha-0.1.lr-0.01.seed-2')!;
  assert.ok(obp, [...byId.keys()].join(' '));
  // config.name is the sweep's (the bounded `experiment` metric label), the run id is per run
  assert.equal(obp.config.name, 'sw');
  assert.equal(obp.config.seed, 2);
  assert.equal(obp.config.train.lr, 0.01);
  assert.equal(obp.config.algorithm['q'], 0.9);
  assert.equal(byId.get('sw.fedobp.alpha-0.5.lr-0.02.seed-1')!.config.algorithm['q'], 0.8);
  assert.equal(byId.get('sw.fedavg.alpha-0.5.lr-0.02.seed-1')!.config.algorithm.name, 'fedavg');
  // seeds share a group, everything else separates groups
  assert.equal(obp.group, 'fedobp.alpha-0.1.lr-0.01');
  assert.equal(new Set(plan.runs.map((r) => r.group)).size, 4);
  // a scheduled instance prefixes the run ids with its id, the configs keep the sweep's name
  const nightly = expandSweep(spec({ axes: [{ seed: [1] }] }), 'sw-20261201T0000Z');
  assert.deepEqual(nightly.runs.map((r) => [r.runId, r.config.name]), [['sw-20261201T0000Z.seed-1', 'sw']]);
  // ids are a function of the values only
  assert.equal(runIdFor('sw', { 'algorithm.name': 'fedobp', 'partition.alpha': 0.1, 'train.lr': 0.01, seed: 2 }), obp.runId);
});

test('switching algorithm drops the base algorithm options; object values and long ids stay valid', () => {
  const plan = expandSweep(
    sweepSpecSchema.parse({
      name: 'sw',
      base: { ...base, algorithm: { name: 'fedprox', mu: 0.5 } },
      axes: [{ algorithm: [{ name: 'fedprox', mu: 0.1 }, { name: 'fedprox', mu: 1 }] }, { 'algorithm.name': ['fedprox'] }],
    }),
  );
  assert.deepEqual(plan.runs.map((r) => r.config.algorithm), [{ name: 'fedprox', mu: 0.1 }, { name: 'fedprox', mu: 1 }]);
  assert.match(plan.runs[0]!.runId, /^sw\.algorithm-fedprox_[0-9a-f]{6}\.fedprox$/);
  const switched = expandSweep(
    sweepSpecSchema.parse({ name: 'sw', base: { ...base, algorithm: { name: 'fedprox', mu: 0.5 } }, axes: [{ 'algorithm.name': ['fedavg', 'fedprox'] }] }),
  );
  assert.deepEqual(switched.runs.map((r) => r.config.algorithm), [{ name: 'fedavg' }, { name: 'fedprox', mu: 0.5 }]);
  const long = runIdFor('x'.repeat(60), { 'train.lr': 0.123456789, 'train.momentum': 0.5, 'partition.alpha': 0.25 });
  assert.ok(long.length <= 81, long);
});

test('bad sweeps fail before anything runs, naming the run and the field', () => {
  assert.throws(() => expandSweep(spec({ axes: [{ 'train.lrate': [0.1] }] })), /run sw\.lrate-0\.1[^]*train[^]*lrate/);
  assert.throws(() => expandSweep(spec({ axes: [{ 'train.lr': [0.1, -1] }] })), /run sw\.lr--1[^]*train\.lr/);
  // fedavg has no q: the schema drops or rejects it, and the error says so
  assert.throws(() => expandSweep(spec({ axes: [{ 'algorithm.q': [0.5] }] })), /run sw\.q-0\.5[^]*algorithm/);
  assert.throws(
    () => expandSweep(spec({ axes: [{ 'algorithm.name': ['fedavg'] }, { 'eval.batchSize': [256, 256] }] })),
    /two runs get the id 'sw\.fedavg\.batchSize-256'/,
  );
  // different axis values, same experiment: an override turns seed 2 into seed 1
  assert.throws(
    () => expandSweep(spec({ axes: [{ seed: [1, 2] }], overrides: [{ when: { seed: 2 }, set: { seed: 1 } }] })),
    /runs sw\.seed-1 and sw\.seed-2 expand to the same experiment/,
  );
  assert.throws(() => expandSweep(spec({ axes: [{ seed: [1, 2], 'train.lr': [0.1] }] })), /zips lists of different lengths \(seed: 2, train\.lr: 1\)/);
  assert.throws(
    () => expandSweep(spec({ axes: [{ seed: [1] }], overrides: [{ when: { 'partition.alpha': 0.1 }, set: { rounds: 2 } }] })),
    /'partition\.alpha', which is not an axis/,
  );
  assert.throws(
    () => expandSweep(spec({ axes: [{ seed: [1] }], overrides: [{ when: { seed: 9 }, set: { rounds: 2 } }] })),
    /overrides\[0\] .* matches no run/,
  );
  assert.throws(() => expandSweep(spec({ axes: [{ seed: [1] }, { seed: [2] }] })), /axis path 'seed' appears twice/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementwiseDeltaAggregator } from '../../src/algorithms/submodel/aggregator.js';
import {
  capacitiesSchema,
  capacityPlan,
  classCounts,
  defaultPoolName,
  evaluationSizes,
} from '../../src/algorithms/submodel/capacities.js';
import { applyMask, restoreOutside, submodelBytes } from '../../src/algorithms/submodel/masks.js';
import { overriddenTrainOptions } from '../../src/algorithms/submodel/train-options.js';
import type { AlgorithmEnv } from '../../src/algorithms/types.js';
import { createModel } from '../../src/models/index.js';
import { makeSpec } from '../../src/params/spec.js';

test('capacities: the default is four sizes, a quarter each; bad lists are refused with the field named', () => {
  const def = capacitiesSchema.parse(undefined);
  assert.deepEqual(
    def.map((c) => [c.beta, c.share]),
    [
      [1, 0.25],
      [0.25, 0.25],
      [0.0625, 0.25],
      [0.015625, 0.25],
    ],
  );
  const bad = [
    [{ beta: 0.5, share: 0.5 }], // shares sum to 0.5
    [
      { beta: 0.5, share: 0.5 },
      { beta: 0.5, share: 0.5 },
    ], // β twice
    [{ beta: 0, share: 1 }],
    [{ beta: 1.5, share: 1 }],
    [{ beta: 1, share: 1, pool: 'gpu pool' }],
    [{ beta: 1, share: 1, size: 3 }],
    [],
  ];
  for (const b of bad) assert.equal(capacitiesSchema.safeParse(b).success, false, JSON.stringify(b));
  const r = capacitiesSchema.safeParse([
    { beta: 0.5, share: 0.5 },
    { beta: 0.5, share: 0.5 },
  ]);
  assert.match(JSON.stringify(r.error?.issues), /listed twice/);
  // Rounded thirds are fine.
  assert.equal(capacitiesSchema.safeParse([1, 0.5, 0.25].map((beta) => ({ beta, share: 0.333 }))).success, true);
});

test('capacity plan: clients are assigned in index order with counts summing to N', () => {
  const classes = capacitiesSchema.parse(undefined);
  const plan = capacityPlan(classes, 10);
  // 2.5 each: the two leftover clients go to the first classes (equal remainders).
  assert.deepEqual(plan.counts, [3, 3, 2, 2]);
  assert.deepEqual(
    Array.from({ length: 10 }, (_, c) => plan.betaOf(c)),
    [1, 1, 1, 0.25, 0.25, 0.25, 0.0625, 0.0625, 0.015625, 0.015625],
  );
  assert.deepEqual(classCounts([0.5, 0.3, 0.2], 7), [4, 2, 1]); // 3.5, 2.1, 1.4 → 3+2+1, leftover to 0.5
  assert.deepEqual(capacityPlan(classes, 100).counts, [25, 25, 25, 25]);
  assert.deepEqual(capacityPlan(classes, 1).counts, [1, 0, 0, 0]);
  assert.throws(() => plan.betaOf(10), /client id 10 is outside 0..9/);
});

test('pool names: `beta-<β>` with the dot replaced (queue-name alphabet), or the configured name', () => {
  assert.equal(defaultPoolName(1), 'beta-1');
  assert.equal(defaultPoolName(0.25), 'beta-0_25');
  assert.equal(defaultPoolName(1 / 64), 'beta-0_015625');
  const plan = capacityPlan(
    capacitiesSchema.parse([
      { beta: 1, share: 0.5, pool: 'gpu' },
      { beta: 0.25, share: 0.5 },
    ]),
    4,
  );
  assert.deepEqual([0, 1, 2, 3].map((c) => plan.poolOf(c)), ['gpu', 'gpu', 'beta-0_25', 'beta-0_25']);
  for (const beta of [1, 0.25, 1 / 64, 1 / 256, 0.64, 1e-7]) assert.match(defaultPoolName(beta), /^[A-Za-z0-9_-]{1,64}$/);
});

test('evaluation sizes: trained and extra sizes, largest first, without repeats', () => {
  assert.deepEqual(evaluationSizes(capacitiesSchema.parse(undefined), [1 / 2, 1 / 4, 1 / 256]), [
    1, 0.5, 0.25, 0.0625, 0.015625, 0.00390625,
  ]);
});

const spec = makeSpec([
  { name: 'a.weight', layer: 'a', layerType: 'dense', kind: 'weight', shape: [2, 2], role: 'body', fanIn: 2 },
  { name: 'a.bias', layer: 'a', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 2 },
]);

test('element-wise delta aggregation counts, per element, only the clients whose delta is non-zero', () => {
  const previous = new Float32Array([10, 10, 10, 10, 10, 10]);
  const agg = elementwiseDeltaAggregator(spec, () => true, previous, { serverLr: 1 });
  agg.add({ clientId: 0, numSamples: 5, values: new Float32Array([2, 0, 1, 0, -4, 0]) });
  agg.add({ clientId: 1, numSamples: 50, values: new Float32Array([4, 0, 0, 0, 2, 3]) });
  agg.add({ clientId: 2, numSamples: 1, values: new Float32Array([6, 0, 0, 0, 0, 0]) });
  // element 0: (2+4+6)/3 = 4; element 2: 1/1; element 4: (−4+2)/2 = −1; element 5: 3/1; others untouched.
  assert.deepEqual([...agg.finish()], [6, 10, 9, 10, 11, 7]);
  assert.deepEqual([...previous], [10, 10, 10, 10, 10, 10], 'previous global is not mutated');
});

test('element-wise aggregation: server learning rate, holders, and only the shared tensors', () => {
  const previous = new Float32Array([1, 1, 1, 1, 1, 1]);
  const half = elementwiseDeltaAggregator(spec, () => true, previous, { serverLr: 0.5 });
  half.add({ clientId: 0, numSamples: 1, values: new Float32Array([2, 2, 2, 2, 2, 2]) });
  assert.deepEqual([...half.finish()], [0, 0, 0, 0, 0, 0]);

  // Holders: a held element with Δ = 0 still counts (HeteroFL's rule); an unheld one never does.
  const held = [new Uint8Array([1, 1, 0, 0, 1, 1]), new Uint8Array([1, 0, 0, 0, 1, 0])];
  const byHolder = elementwiseDeltaAggregator(spec, () => true, previous, { serverLr: 1, holders: (c) => held[c]! });
  byHolder.add({ clientId: 0, numSamples: 1, values: new Float32Array([2, 4, 0, 0, 0, 2]) });
  byHolder.add({ clientId: 1, numSamples: 1, values: new Float32Array([0, 0, 0, 0, 4, 0]) });
  assert.deepEqual([...byHolder.finish()], [0, -3, 1, 1, -1, -1]);

  const biasOnly = elementwiseDeltaAggregator(spec, (t) => t.kind === 'bias', previous, { serverLr: 1 });
  biasOnly.add({ clientId: 0, numSamples: 1, values: new Float32Array([1, 3]) });
  assert.deepEqual([...biasOnly.finish()], [1, 1, 1, 1, 0, -2]);
  assert.throws(() => biasOnly.add({ clientId: 3, numSamples: 1, values: new Float32Array(6) }), /client 3 .* 6 elements, expected 2/);
  assert.throws(() => elementwiseDeltaAggregator(spec, () => true, previous, { serverLr: 0 }), /serverLr/);
});

test('masks: applyMask zeroes outside; restoreOutside puts start values back outside only', () => {
  const keep = new Uint8Array([1, 0, 1, 0]);
  assert.deepEqual([...applyMask(new Float32Array([1, 2, 3, 4]), keep)], [1, 0, 3, 0]);
  const trained = new Float32Array([5, 6, 7, 8]);
  restoreOutside(trained, new Float32Array([1, 2, 3, 4]), keep);
  assert.deepEqual([...trained], [5, 2, 7, 4]);
  assert.equal(submodelBytes(3, 16), 3 * 4 + 2);
});

test('train overrides replace only the fields that are set', () => {
  const model = createModel('logreg', { inputShape: [4], numClasses: 2 });
  const sgd = { lr: 0.01, momentum: 0.7, weightDecay: 0.001 };
  const env: AlgorithmEnv = { model, numClients: 1, seed: 1, train: { sgd, batchSize: 32, epochs: 5 }, finetune: { epochs: 1, sgd } };
  assert.deepEqual(overriddenTrainOptions(env, {}, 9), { sgd, batchSize: 32, epochs: 5, seed: 9 });
  assert.deepEqual(overriddenTrainOptions(env, { lr: 0.1, momentum: 0, batchSize: 20, iterations: 100 }, 9), {
    sgd: { lr: 0.1, momentum: 0, weightDecay: 0.001 },
    batchSize: 20,
    epochs: 5,
    iterations: 100,
    seed: 9,
  });
  const dropping = { ...env, train: { ...env.train, dropLast: true } };
  assert.equal(overriddenTrainOptions(dropping, { batchSize: 20 }, 9).dropLast, true, 'the last-batch rule is kept');
});

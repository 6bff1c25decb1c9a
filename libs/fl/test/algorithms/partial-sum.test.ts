import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partialSumAccumulator } from '../../src/aggregation/partial-sum.js';
import { robustAggregationSchema, withRobustAggregation } from '../../src/aggregation/robust/index.js';
import { weightedMeanAggregator } from '../../src/algorithms/base.js';
import { fedavg } from '../../src/algorithms/fedavg.js';
import { fedbabu } from '../../src/algorithms/fedbabu.js';
import type { AlgorithmEnv, UpdateForAggregation } from '../../src/algorithms/types.js';
import { makeSpec } from '../../src/params/spec.js';
import { Rng } from '../../src/util/rng.js';

const SIZE = 33;
const spec = makeSpec([
  { name: 'fc.weight', layer: 'fc', layerType: 'dense', kind: 'weight', shape: [SIZE - 3, 1], role: 'body', fanIn: SIZE - 3 },
  { name: 'out.bias', layer: 'out', layerType: 'dense', kind: 'bias', shape: [3], role: 'head', fanIn: 1 },
]);

function updates(count: number): UpdateForAggregation[] {
  const rng = new Rng(5);
  return Array.from({ length: count }, (_, clientId) => ({
    clientId,
    numSamples: 1 + Math.floor(rng.uniform(0, 40)),
    values: Float32Array.from({ length: SIZE }, () => rng.uniform(-1, 1)),
  }));
}

/** The round through partials of `cohortSize` consecutive clients, as workers would write them. */
function viaPartials(all: readonly UpdateForAggregation[], cohortSize: number): Float32Array {
  const agg = weightedMeanAggregator(spec, () => true, new Float32Array(SIZE));
  for (let i = 0; i < all.length; i += cohortSize) {
    const cohort = partialSumAccumulator(SIZE, { weighted: true });
    for (const u of all.slice(i, i + cohortSize)) cohort.add(u);
    agg.addPartial(cohort.result());
  }
  return agg.finish();
}

test('one client per partial is bit-identical to adding the updates themselves', () => {
  const all = updates(50);
  const direct = weightedMeanAggregator(spec, () => true, new Float32Array(SIZE));
  for (const u of all) direct.add(u);
  assert.deepEqual(viaPartials(all, 1), direct.finish());
});

test('larger cohorts give the same mean up to float64 rounding, and count every client and weight', () => {
  const all = updates(50);
  const one = viaPartials(all, 1);
  for (const size of [7, 50]) {
    const grouped = viaPartials(all, size);
    for (let i = 0; i < SIZE; i++) assert.ok(Math.abs(grouped[i]! - one[i]!) <= 1e-6, `element ${i} with cohorts of ${size}`);
  }
  const total = partialSumAccumulator(SIZE, { weighted: true });
  for (const u of all) total.add(u);
  assert.equal(total.result().clients, 50);
  assert.equal(total.result().weight, all.reduce((s, u) => s + u.numSamples, 0));
});

test('an unweighted partial weighs each client 1', () => {
  const p = partialSumAccumulator(2, { weighted: false });
  p.add({ clientId: 0, numSamples: 10, values: new Float32Array([1, 2]) });
  p.add({ clientId: 1, numSamples: 30, values: new Float32Array([3, 4]) });
  assert.deepEqual(p.result(), { sum: new Float64Array([4, 6]), weight: 2, clients: 2 });
});

test('updates and partials of the wrong size are refused, naming the client', () => {
  const p = partialSumAccumulator(SIZE, { weighted: true });
  assert.throws(() => p.add({ clientId: 4, numSamples: 1, values: new Float32Array(SIZE - 1) }), /client 4 has 32 elements, expected 33/);
  assert.throws(() => p.add({ clientId: 5, numSamples: 0, values: new Float32Array(SIZE) }), /client 5 has weight 0/);
  assert.throws(() => p.addPartial({ sum: new Float64Array(2), weight: 1, clients: 1 }), /partial sum has 2 elements/);
});

test('weighted-mean algorithms declare a sum aggregation; robust aggregation does not', () => {
  const env = { model: { spec }, numClients: 4, seed: 1 } as unknown as AlgorithmEnv;
  const hooks = fedavg.create(env, fedavg.options.parse({}));
  assert.deepEqual(hooks.sumAggregation, { weighted: true });
  assert.ok(hooks.createAggregator(new Float32Array(SIZE), 0).addPartial, 'a declared sum takes partials');
  const babu = fedbabu.create(env, fedbabu.options.parse({ weighted: false }));
  assert.deepEqual(babu.sumAggregation, { weighted: false });
  const robust = withRobustAggregation(hooks, { algorithm: 'fedavg', aggregatesByWeightedMean: true, spec, seed: 1 }, robustAggregationSchema.parse({ robust: 'median' }));
  assert.equal(robust.sumAggregation, undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partialSumAccumulator } from '../../src/aggregation/partial-sum.js';
import { weightedMeanAggregator } from '../../src/algorithms/base.js';
import { fiarse } from '../../src/algorithms/fiarse/fiarse.js';
import { heterofl } from '../../src/algorithms/heterofl/heterofl.js';
import { elementwiseDeltaAggregation } from '../../src/algorithms/submodel/aggregator.js';
import type { AlgorithmEnv, AlgorithmHooks, UpdateForAggregation } from '../../src/algorithms/types.js';
import { makeSpec } from '../../src/params/spec.js';
import { Rng } from '../../src/util/rng.js';

const spec = makeSpec([
  { name: 'h.weight', layer: 'h', layerType: 'dense', kind: 'weight', shape: [5, 8], role: 'body', fanIn: 5 },
  { name: 'h.bias', layer: 'h', layerType: 'dense', kind: 'bias', shape: [8], role: 'body', fanIn: 5 },
  { name: 'out.weight', layer: 'out', layerType: 'dense', kind: 'weight', shape: [8, 3], role: 'head', fanIn: 8 },
  { name: 'out.bias', layer: 'out', layerType: 'dense', kind: 'bias', shape: [3], role: 'head', fanIn: 8 },
]);
const CLIENTS = 24;
const env = { model: { spec }, numClients: CLIENTS, seed: 1 } as unknown as AlgorithmEnv;
const submodelHooks: [string, AlgorithmHooks][] = [
  ['fiarse', fiarse.create(env, fiarse.options.parse({}))],
  ['heterofl', heterofl.create(env, heterofl.options.parse({}))],
];

/** Deltas with about a third of the elements exactly zero, as a submodel's upload has outside it. */
function deltas(): UpdateForAggregation[] {
  const rng = new Rng(9);
  return Array.from({ length: CLIENTS }, (_, clientId) => ({
    clientId,
    numSamples: 1 + Math.floor(rng.uniform(0, 30)),
    values: Float32Array.from({ length: spec.size }, () => (rng.uniform(0, 1) < 0.35 ? 0 : rng.uniform(-1, 1))),
  }));
}

function viaPartials(hooks: AlgorithmHooks, previous: Float32Array, all: readonly UpdateForAggregation[], cohortSize: number): Float32Array {
  const agg = hooks.createAggregator(previous, 0);
  for (let i = 0; i < all.length; i += cohortSize) {
    const cohort = partialSumAccumulator(spec.size, hooks.sumAggregation!);
    for (const u of all.slice(i, i + cohortSize)) cohort.add(u);
    agg.addPartial!(cohort.result());
  }
  return agg.finish();
}

for (const [name, hooks] of submodelHooks) {
  test(`${name}: one client per partial is bit-identical to adding the updates; larger cohorts agree to rounding`, () => {
    assert.equal(hooks.sumAggregation?.weighted, false);
    assert.ok(hooks.sumAggregation?.holders, 'an element-wise sum over holders');
    const previous = Float32Array.from({ length: spec.size }, (_, i) => Math.sin(i));
    const all = deltas();
    const direct = hooks.createAggregator(previous, 0);
    for (const u of all) direct.add(u);
    const expected = direct.finish();
    assert.notDeepEqual(expected, previous);
    assert.deepEqual(viaPartials(hooks, previous, all, 1), expected);
    for (const size of [5, CLIENTS]) {
      const grouped = viaPartials(hooks, previous, all, size);
      for (let i = 0; i < spec.size; i++) assert.ok(Math.abs(grouped[i]! - expected[i]!) <= 1e-6, `element ${i} in cohorts of ${size}`);
    }
  });
}

test('overlapping submodels by hand: partials carry each element\'s holder count, the sum divides per element', () => {
  const tiny = makeSpec([{ name: 'w', layer: 'w', layerType: 'dense', kind: 'weight', shape: [4, 1], role: 'body', fanIn: 4 }]);
  const held = [new Uint8Array([1, 1, 0, 0]), new Uint8Array([1, 1, 1, 0]), new Uint8Array([1, 0, 1, 1])];
  const how = elementwiseDeltaAggregation(tiny, () => true, { serverLr: 1, holders: (c) => held[c]! });
  const update = (clientId: number, values: number[]) => ({ clientId, numSamples: 10 * (clientId + 1), values: new Float32Array(values) });
  // values outside a client's submodel (the 9s) are not its to change and must not count
  const a = partialSumAccumulator(4, how.sumAggregation!);
  a.add(update(0, [2, 4, 9, 9]));
  a.add(update(1, [4, 0, 6, 9]));
  assert.deepEqual(a.result(), { sum: new Float64Array([6, 4, 6, 0]), holders: new Float64Array([2, 2, 1, 0]), weight: 2, clients: 2 });
  const b = partialSumAccumulator(4, how.sumAggregation!);
  b.add(update(2, [6, 9, 3, 8]));
  const agg = how.createAggregator(new Float32Array([10, 10, 10, 10]), 0);
  agg.addPartial!(a.result());
  agg.addPartial!(b.result());
  // per element: 10 − 12/3, 10 − 4/2, 10 − 9/2, 10 − 8/1
  assert.deepEqual([...agg.finish()], [6, 8, 5.5, 2]);

  // FIARSE's rule without holders: a client counts where its delta is non-zero
  const changed = elementwiseDeltaAggregation(tiny, () => true, { serverLr: 1 });
  const c = partialSumAccumulator(4, changed.sumAggregation!);
  c.add(update(0, [2, 0, 0, 1]));
  c.add(update(1, [4, 0, 3, 0]));
  assert.deepEqual(c.result().holders, new Float64Array([2, 0, 1, 1]));
});

test('a partial without holder weights is refused by an element-wise sum, and one with them by a plain mean', () => {
  const [, hooks] = submodelHooks[0]!;
  const plain = { sum: new Float64Array(spec.size), weight: 1, clients: 1 };
  assert.throws(() => hooks.createAggregator(new Float32Array(spec.size), 0).addPartial!(plain), /no holder weights/);
  const mean = weightedMeanAggregator(spec, () => true, new Float32Array(spec.size));
  assert.throws(() => mean.addPartial({ ...plain, holders: new Float64Array(spec.size) }), /has holder weights/);
  const acc = partialSumAccumulator(spec.size, hooks.sumAggregation!);
  assert.throws(() => acc.add({ clientId: 3, numSamples: 1, values: new Float32Array(2) }), /client 3 has 2 elements/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weightedMeanAggregator } from '../../src/algorithms/base.js';
import { clientsPerRound, sampleClients } from '../../src/algorithms/sampling.js';
import { makeSpec, selectRole } from '../../src/params/spec.js';

// A 2-tensor model: body (3 elements) and head (2 elements).
const spec = makeSpec([
  { name: 'fc.weight', layer: 'fc', layerType: 'dense', kind: 'weight', shape: [3, 1], role: 'body', fanIn: 3 },
  { name: 'out.bias', layer: 'out', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 1 },
]);

test('FedAvg weights updates by sample count (hand-computed)', () => {
  const previous = new Float32Array([9, 9, 9, 9, 9]);
  const agg = weightedMeanAggregator(spec, () => true, previous);
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array([1, 2, 3, 4, 5]) });
  agg.add({ clientId: 1, numSamples: 3, values: new Float32Array([5, 6, 7, 8, 9]) });
  // (1·1 + 3·5)/4 = 4, (2 + 18)/4 = 5, (3 + 21)/4 = 6, (4 + 24)/4 = 7, (5 + 27)/4 = 8
  assert.deepEqual([...agg.finish()], [4, 5, 6, 7, 8]);
});

test('unweighted mean ignores sample counts', () => {
  const agg = weightedMeanAggregator(spec, () => true, new Float32Array(5), { weighted: false });
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array([0, 0, 0, 0, 2]) });
  agg.add({ clientId: 1, numSamples: 99, values: new Float32Array([2, 2, 2, 2, 4]) });
  assert.deepEqual([...agg.finish()], [1, 1, 1, 1, 3]);
});

test('only shared tensors are averaged; the rest keep the previous global', () => {
  const previous = new Float32Array([10, 20, 30, 40, 50]);
  const agg = weightedMeanAggregator(spec, selectRole('body'), previous);
  agg.add({ clientId: 0, numSamples: 2, values: new Float32Array([1, 1, 1]) });
  agg.add({ clientId: 1, numSamples: 2, values: new Float32Array([3, 3, 3]) });
  assert.deepEqual([...agg.finish()], [2, 2, 2, 40, 50]);
  assert.deepEqual([...previous], [10, 20, 30, 40, 50], 'previous global is not mutated');
});

test('an update of the wrong length is refused', () => {
  const agg = weightedMeanAggregator(spec, () => true, new Float32Array(5));
  assert.throws(() => agg.add({ clientId: 4, numSamples: 1, values: new Float32Array(4) }), /client 4 .* 4 elements, expected 5/);
});

test('no updates leaves the global model unchanged', () => {
  const previous = new Float32Array([1, 2, 3, 4, 5]);
  assert.deepEqual([...weightedMeanAggregator(spec, () => true, previous).finish()], [1, 2, 3, 4, 5]);
});

test('client sampling: ⌊N·ratio⌋ distinct sorted clients, seeded per round', () => {
  assert.equal(clientsPerRound(100, 0.1), 10);
  assert.equal(clientsPerRound(5, 0.1), 1);
  const a = sampleClients(42, 3, 100, 10);
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.ok(a.every((c) => c >= 0 && c < 100));
  assert.deepEqual(sampleClients(42, 3, 100, 10), a, 'same seed and round ⇒ same clients');
  assert.notDeepEqual(sampleClients(42, 4, 100, 10), a, 'another round ⇒ other clients');
  assert.notDeepEqual(sampleClients(43, 3, 100, 10), a, 'another seed ⇒ other clients');
  assert.throws(() => sampleClients(1, 0, 5, 6), /cannot sample 6 clients per round from 5/);
});

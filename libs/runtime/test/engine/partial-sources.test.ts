import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePartial, encodePartial } from '../../src/engine/blobs.js';
import { partialProblem } from '../../src/engine/partial-sources.js';
import { reduceGroups } from '../../src/engine/tree-round.js';
import { reduceFanInFor } from '../../src/engine/round-flow.js';
import type { RunContext } from '../../src/engine/run-context.js';

const claim = { clients: [3, 4], weight: 2 };
const partial = (sum: number[], holders: number[], weight = 2) => ({
  sum: new Float64Array(sum),
  holders: new Float64Array(holders),
  weight,
  clients: 2,
});

test('an element-wise partial is checked element by element: holder weights within 0…weight, no sum over no holder', () => {
  assert.equal(partialProblem(partial([1, 0, -2], [2, 0, 1]), claim), null);
  assert.match(partialProblem(partial([1, 0, -2], [3, 0, 1]), claim)!.detail, /element 0 has holder weight 3, outside 0-2/);
  assert.match(partialProblem(partial([1, 0, -2], [2, -1, 1]), claim)!.detail, /element 1 has holder weight -1/);
  assert.match(partialProblem(partial([1, 5, -2], [2, 0, 1]), claim)!.detail, /element 1 sums 5 over no holder/);
  assert.equal(partialProblem(partial([1, Number.NaN, 0], [2, 1, 0]), claim)!.code, 'non_finite');
  assert.match(partialProblem(partial([1, 0, 0], [1, 0, 0], 1), claim)!.detail, /weight 1; the partition gives its 2 clients weight 2/);
});

test('holder weights survive the blob bit for bit, and a reader expecting the other layout refuses it', () => {
  const p = partial([0.1, 1e-300, -7], [2, 0.5, 1]);
  assert.deepEqual(decodePartial(encodePartial(p, { round: 0, cohort: 1 }), 3, true), p);
  assert.throws(() => decodePartial(encodePartial(p, {}), 3, false), /has holder weights/);
  const plain = { sum: new Float64Array(3), weight: 1, clients: 1 };
  assert.throws(() => decodePartial(encodePartial(plain, {}), 3, true), /0 bytes of holder weights/);
});

test('the tree: groups of fan-in consecutive cohorts, only past the fan-in, and only for sums', () => {
  assert.deepEqual(reduceGroups([0, 1, 2, 3, 4], 2), [[0, 1], [2, 3], [4]]);
  const rc = (reduceFanIn: number | 'auto' | undefined, sum = true) =>
    ({ config: { reduceFanIn }, hooks: sum ? { sumAggregation: { weighted: true } } : {} }) as unknown as Pick<RunContext, 'config' | 'hooks'>;
  assert.equal(reduceFanInFor(rc(undefined), 64), null);
  assert.equal(reduceFanInFor(rc(undefined), 65), 64);
  assert.equal(reduceFanInFor(rc(8), 8), null);
  assert.equal(reduceFanInFor(rc(8), 9), 8);
  assert.equal(reduceFanInFor(rc(8), 1000), 32, 'past fanIn² partials the fan-in grows to ⌈√partials⌉');
  assert.equal(reduceFanInFor(rc(8, false), 1000), null, 'no partials without a sum aggregation');
});

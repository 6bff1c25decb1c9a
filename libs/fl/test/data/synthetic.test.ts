import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../src/data/index.js';

const opts = { seed: 7, numSamples: 1000, numClasses: 5, featureShape: [16] };

test('same seed gives the same data; another seed different data', () => {
  const a = syntheticDataset(opts);
  const b = syntheticDataset(opts);
  const c = syntheticDataset({ ...opts, seed: 8 });
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.gather([0, 5, 999]), b.gather([0, 5, 999]));
  assert.notDeepEqual(a.gather([0, 5, 999]), c.gather([0, 5, 999]));
  assert.notDeepEqual(a.labels, c.labels);
});

test('a sample is the same whichever subset gathers it', () => {
  const ds = syntheticDataset(opts);
  const all = ds.gather([3, 4, 5]);
  assert.deepEqual(ds.gather([5]), all.subarray(32, 48));
  assert.deepEqual(ds.gather([4, 3]).subarray(16, 32), all.subarray(0, 16));
});

test('labels are exactly balanced and shapes follow the options', () => {
  const ds = syntheticDataset({ ...opts, numSamples: 1003, featureShape: [4, 4, 1] });
  const counts = new Array(5).fill(0);
  for (const y of ds.labels) counts[y]++;
  assert.deepEqual(counts, [201, 201, 201, 200, 200]);
  assert.deepEqual(ds.featureShape, [4, 4, 1]);
  assert.equal(ds.gather([0, 1]).length, 32);
  assert.equal(ds.numClasses, 5);
});

function nearestMeanAccuracy(separation: number): number {
  const ds = syntheticDataset({ ...opts, numSamples: 2000, separation });
  const d = 16;
  const idx = Array.from({ length: 2000 }, (_, i) => i);
  const x = ds.gather(idx);
  const means = new Float64Array(5 * d);
  const counts = new Float64Array(5);
  for (let i = 0; i < 1000; i++) {
    counts[ds.labels[i]!]!++;
    for (let j = 0; j < d; j++) means[ds.labels[i]! * d + j]! += x[i * d + j]!;
  }
  for (let c = 0; c < 5; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= counts[c]!;
  let correct = 0;
  for (let i = 1000; i < 2000; i++) {
    let best = -1;
    let bestDist = Infinity;
    for (let c = 0; c < 5; c++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (x[i * d + j]! - means[c * d + j]!) ** 2;
      if (dist < bestDist) [best, bestDist] = [c, dist];
    }
    if (best === ds.labels[i]) correct++;
  }
  return correct / 1000;
}

test('classes are learnable at the default separation and not at separation 0', () => {
  assert.ok(nearestMeanAccuracy(4) > 0.8);
  assert.ok(nearestMeanAccuracy(0) < 0.35);
});

test('bad options are rejected', () => {
  assert.throws(() => syntheticDataset({ ...opts, numClasses: 1 }), /numClasses must be an integer in 2\.\.256/);
  assert.throws(() => syntheticDataset({ ...opts, numSamples: 0 }), /numSamples must be a positive integer/);
  assert.throws(() => syntheticDataset({ ...opts, featureShape: [0] }), /featureShape/);
  assert.throws(() => syntheticDataset(opts).gather([1000]), /outside 0\.\.999/);
});

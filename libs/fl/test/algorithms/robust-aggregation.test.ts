import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weightedMeanAggregator } from '../../src/algorithms/base.js';
import { fedavg } from '../../src/algorithms/fedavg.js';
import type { AlgorithmEnv } from '../../src/algorithms/types.js';
import {
  clipToNorm, coordinateMedian, dpNoiseStd, robustAggregationSchema, robustAggregator, trimmedMean, withRobustAggregation,
} from '../../src/aggregation/robust/index.js';
import type { z } from 'zod';
import { makeSpec, selectAll, selectRole } from '../../src/params/spec.js';
import { Rng } from '../../src/util/rng.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

test('coordinate-wise median and trimmed mean (hand-computed)', () => {
  const u = [f64([1, 10, -3]), f64([2, 20, 0]), f64([3, 30, 100]), f64([4, -40, 1]), f64([100, 50, 2])];
  // sorted columns: [1,2,3,4,100] [-40,10,20,30,50] [-3,0,1,2,100]
  assert.deepEqual([...coordinateMedian(u)], [3, 20, 1]);
  // drop 1 from each end: (2+3+4)/3 = 3, (10+20+30)/3 = 20, (0+1+2)/3 = 1
  assert.deepEqual([...trimmedMean(u, 1)], [3, 20, 1]);
  // no trimming = the plain mean: 110/5, 70/5, 100/5
  assert.deepEqual([...trimmedMean(u, 0)], [22, 14, 20]);
  // even count: the mean of the two middle values ([1,2,3,4] -> 2.5)
  assert.deepEqual([...coordinateMedian([f64([1]), f64([4]), f64([2]), f64([3])])], [2.5]);
  assert.throws(() => trimmedMean(u, 3), /cannot drop 3 from each end of 5/);
});

test('clipping scales an update to the clip norm and leaves smaller ones alone', () => {
  const big = f64([3, 4]);
  assert.equal(clipToNorm(big, 1), 5);
  assert.deepEqual([...big].map((x) => Number(x.toFixed(12))), [0.6, 0.8]);
  const small = f64([0.3, 0.4]);
  clipToNorm(small, 1);
  assert.deepEqual([...small], [0.3, 0.4]);
});

// A model with 6 shared elements; the previous global is 0, so uploads are the updates.
const spec = makeSpec([
  { name: 'fc.weight', layer: 'fc', layerType: 'dense', kind: 'weight', shape: [4, 1], role: 'body', fanIn: 4 },
  { name: 'out.bias', layer: 'out', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 1 },
]);
const SIZE = spec.size;
const TRUE_UPDATE = [0.5, -0.25, 0.1, 0.3, -0.4, 0.2];

/** 10 clients: honest ones near TRUE_UPDATE (±0.05), the poisoned ones given by `poison`. */
function clientUpdates(poison: (honest: Float32Array, k: number) => Float32Array, poisoned: number): Float32Array[] {
  const rng = Rng.derive(7, 'robust-test');
  return Array.from({ length: 10 }, (_, k) => {
    const honest = Float32Array.from(TRUE_UPDATE, (x) => x + rng.uniform(-0.05, 0.05));
    return k < poisoned ? poison(honest, k) : honest;
  });
}

function aggregate(config: z.input<typeof robustAggregationSchema> | 'fedavg', updates: readonly Float32Array[]): Float32Array {
  const previousGlobal = new Float32Array(SIZE);
  const agg = config === 'fedavg'
    ? weightedMeanAggregator(spec, selectAll, previousGlobal)
    : robustAggregator({ spec, shared: selectAll, previousGlobal, round: 3, seed: 1, config: robustAggregationSchema.parse(config) });
  updates.forEach((values, clientId) => agg.add({ clientId, numSamples: 10 + clientId, values }));
  return agg.finish();
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

const POISONS: Record<string, (honest: Float32Array) => Float32Array> = {
  'scaled ×50': (h) => h.map((x) => 50 * x),
  'sign-flipped ×10': (h) => h.map((x) => -10 * x),
  'huge norm (1e6)': (h) => h.map((_, i) => (i % 2 ? -1e6 : 1e6)),
};

for (const [name, poison] of Object.entries(POISONS)) {
  test(`2 of 10 clients poisoned (${name}): robust aggregates stay near the clean mean, FedAvg does not`, () => {
    const clean = aggregate('fedavg', clientUpdates((h) => h, 0));
    const poisoned = clientUpdates(poison, 2);
    // Bound for median and trimmed mean (f = 2 poisoned ≤ trimmed per end): every coordinate lies
    // within the honest values' range there, at most 0.1 apart, so ‖agg − clean‖₂ ≤ 0.1·√6 ≈ 0.245.
    const coordinateBound = 0.1 * Math.sqrt(SIZE);
    const median = aggregate({ robust: 'median' }, poisoned);
    const trimmed = aggregate({ robust: 'trimmed-mean', trimFraction: 0.2 }, poisoned);
    assert.ok(distance(median, clean) <= coordinateBound, `median off by ${distance(median, clean)}`);
    assert.ok(distance(trimmed, clean) <= coordinateBound, `trimmed mean off by ${distance(trimmed, clean)}`);
    // Clipping to C bounds each poisoned client's pull: ‖agg − clean‖ ≤ Σ_poisoned w_k·(C + ‖u_k‖)/Σw
    // ≤ 2·(C + 0.8)·19/145 + the honest spread ≈ 0.67 for C = 1.
    const clippedMean = aggregate({ clipNorm: 1 }, poisoned);
    assert.ok(distance(clippedMean, clean) <= 0.7, `clipped mean off by ${distance(clippedMean, clean)}`);
    // Plain FedAvg is dragged further than the whole clean update (norm ≈ 0.8) and past every bound above.
    const fedAvg = aggregate('fedavg', poisoned);
    assert.ok(distance(fedAvg, clean) > 1, `FedAvg off by only ${distance(fedAvg, clean)}`);
  });
}

test('central DP: noise σ = noiseMultiplier·clipNorm/n, reported, and the same for the same seed and round', () => {
  const config = robustAggregationSchema.parse({ dp: { noiseMultiplier: 1.1, clipNorm: 2 } });
  const updates = clientUpdates((h) => h, 0);
  const make = (round: number, seed: number) => {
    const agg = robustAggregator({ spec, shared: selectAll, previousGlobal: new Float32Array(SIZE), round, seed, config });
    updates.forEach((values, clientId) => agg.add({ clientId, numSamples: 5, values }));
    return { model: agg.finish(), report: agg.report() };
  };
  const a = make(4, 42);
  const b = make(4, 42);
  assert.deepEqual([...a.model], [...b.model], 'seeded: identical reruns');
  assert.notDeepEqual([...make(5, 42).model], [...a.model], 'another round draws other noise');
  assert.equal(a.report['dpNoiseStd'], (1.1 * 2) / 10);
  assert.ok(Math.abs(dpNoiseStd(config, 10) - 0.22) < 1e-12);
  assert.equal(a.report['clippedUpdates'], 0);
  // noise of σ = 0.22 on 6 coordinates: far from zero, but not wild
  const clean = aggregate('fedavg', updates);
  const off = distance(a.model, clean);
  assert.ok(off > 0.01 && off < 6 * 0.22 * 4, `noise moved the model by ${off}`);
});

test('the config block: defaults, and errors naming the field for combinations that make no sense', () => {
  assert.deepEqual(robustAggregationSchema.parse({}), { robust: 'mean' });
  const pathsOf = (raw: unknown) => {
    const r = robustAggregationSchema.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.match(pathsOf({ robust: 'median', trimFraction: 0.1 }).join(), /^trimFraction: applies to robust: 'trimmed-mean' only/);
  assert.match(pathsOf({ robust: 'trimmed-mean', trimFraction: 0.5 }).join(), /^trimFraction: must be below 0.5/);
  assert.match(pathsOf({ robust: 'median', dp: { noiseMultiplier: 1, clipNorm: 1 } }).join(), /^dp: central DP noise .* makes no sense with robust: 'median'/);
  assert.match(pathsOf({ clipNorm: 1, dp: { noiseMultiplier: 1, clipNorm: 1 } }).join(), /^clipNorm: with dp the clip is dp.clipNorm/);
  assert.match(pathsOf({ dp: { noiseMultiplier: 1 } }).join(), /^dp.clipNorm:/);
  assert.match(pathsOf({ clipNorm: -1 }).join(), /^clipNorm:/);
  assert.match(pathsOf({ robust: 'krum' }).join(), /^robust:/);
});

test('withRobustAggregation wraps a weighted-mean algorithm and refuses one that is not', () => {
  const env = { model: { spec }, numClients: 4, seed: 1 } as unknown as AlgorithmEnv;
  const hooks = fedavg.create(env, fedavg.options.parse({}));
  const config = robustAggregationSchema.parse({ robust: 'median' });
  assert.equal(withRobustAggregation(hooks, { algorithm: 'fedavg', aggregatesByWeightedMean: true, spec, seed: 1 }, undefined), hooks, 'no block: untouched');
  assert.equal(withRobustAggregation(hooks, { algorithm: 'fedavg', aggregatesByWeightedMean: true, spec, seed: 1 }, robustAggregationSchema.parse({})), hooks);
  const wrapped = withRobustAggregation(hooks, { algorithm: 'fedavg', aggregatesByWeightedMean: true, spec, seed: 1 }, config);
  const agg = wrapped.createAggregator(new Float32Array(SIZE), 0);
  for (const [clientId, v] of [[0, 1], [1, 2], [2, 1000]] as const) agg.add({ clientId, numSamples: 1, values: new Float32Array(SIZE).fill(v) });
  assert.deepEqual([...agg.finish()], new Array(SIZE).fill(2));
  assert.throws(
    () => withRobustAggregation({ ...hooks, upload: 'delta' }, { algorithm: 'fiarse', aggregatesByWeightedMean: false, spec, seed: 1 }, config),
    /algorithm 'fiarse' does not aggregate by a weighted mean/,
  );
  // the algorithm's declaration decides, not its name
  assert.throws(
    () => withRobustAggregation(hooks, { algorithm: 'fedavg', aggregatesByWeightedMean: false, spec, seed: 1 }, config),
    /algorithm 'fedavg' does not aggregate by a weighted mean .*aggregatesByWeightedMean/,
  );
  // only the shared tensors change
  const bodyOnly = withRobustAggregation({ ...hooks, shared: selectRole('body') }, { algorithm: 'fedrep', aggregatesByWeightedMean: true, spec, seed: 1 }, config);
  const prev = Float32Array.from({ length: SIZE }, (_, i) => i);
  const a2 = bodyOnly.createAggregator(prev, 0);
  a2.add({ clientId: 0, numSamples: 1, values: new Float32Array(4).fill(9) });
  assert.deepEqual([...a2.finish()], [9, 9, 9, 9, 4, 5]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Partition, PartitionSpec } from '../../src/data/index.js';
import {
  PartitionError,
  balancedDirichletPartition,
  dirichletPartition,
  iidPartition,
  labelHistograms,
  makePartition,
  shardPartition,
  summarizePartition,
  validatePartition,
} from '../../src/data/index.js';
import { Rng } from '../../src/util/rng.js';

/** Labels with uneven class sizes (so nothing lines up by accident), in a seeded order. */
function skewedLabels(n: number, numClasses: number, seed = 1): Uint8Array {
  const weights = Array.from({ length: numClasses }, (_, c) => 1 + c * 0.3);
  const total = weights.reduce((a, b) => a + b, 0);
  const labels = new Uint8Array(n);
  let at = 0;
  weights.forEach((w, c) => {
    const count = c === numClasses - 1 ? n - at : Math.round((n * w) / total);
    labels.fill(c, at, at + count);
    at += count;
  });
  return Rng.derive(seed, 'test-labels').shuffle(labels);
}

const labels = skewedLabels(5000, 10);

function assertEverySampleOnce(p: Partition, numSamples: number): void {
  assert.equal(validatePartition(p, numSamples), numSamples);
}

const specs: PartitionSpec[] = [
  { kind: 'dirichlet', numClients: 40, seed: 42, alpha: 0.1 },
  { kind: 'dirichlet', numClients: 40, seed: 42, alpha: 0.5, capAtMean: true },
  { kind: 'shards', numClients: 40, seed: 42, shardsPerClient: 2 },
  { kind: 'iid', numClients: 40, seed: 42 },
  { kind: 'balanced-dirichlet', numClients: 40, seed: 42, alpha: 0.3 },
];

for (const spec of specs) {
  const name = `${spec.kind}${'capAtMean' in spec && spec.capAtMean ? ' (capAtMean)' : ''}`;

  test(`${name}: deterministic for a seed, different for another`, () => {
    const a = makePartition(labels, 10, spec);
    const b = makePartition(labels, 10, spec);
    const c = makePartition(labels, 10, { ...spec, seed: 43 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.clients, c.clients);
  });

  test(`${name}: no sample twice, train/test ratio respected per client`, () => {
    const p = makePartition(labels, 10, spec);
    assert.equal(p.numClients, 40);
    assert.equal(p.clients.length, 40);
    const used = validatePartition(p, labels.length);
    if (spec.kind === 'balanced-dirichlet') assert.equal(used, 40 * Math.floor(labels.length / 40));
    else assert.equal(used, labels.length);
    for (const c of p.clients) {
      const n = c.train.length + c.test.length;
      // Shards split per label, losing < 1 test sample per label to rounding.
      const slack = spec.kind === 'shards' ? 2 : 1;
      assert.ok(c.test.length <= n * 0.25 + 1e-9 && c.test.length > n * 0.25 - slack, `${c.test.length} of ${n}`);
    }
  });
}

test('dirichlet gives every client at least minSamples, and is skewed at small alpha', () => {
  for (const [alpha, minSamples] of [[0.1, 10], [0.3, 40]] as const) {
    const p = dirichletPartition(labels, 10, { numClients: 40, seed: 3, alpha, minSamples });
    for (const c of p.clients) assert.ok(c.train.length + c.test.length >= minSamples);
    assertEverySampleOnce(p, labels.length);
  }
  const skewed = summarizePartition(dirichletPartition(labels, 10, { numClients: 40, seed: 3, alpha: 0.1 }), labels);
  const flat = summarizePartition(dirichletPartition(labels, 10, { numClients: 40, seed: 3, alpha: 100 }), labels);
  assert.ok(skewed.labelsPerClient!.median < flat.labelsPerClient!.median);
  assert.ok(skewed.samples.max > flat.samples.max);
});

test('dirichlet with testRatio 0 puts everything in train', () => {
  const p = dirichletPartition(labels, 10, { numClients: 10, seed: 1, alpha: 1, testRatio: 0 });
  for (const c of p.clients) assert.equal(c.test.length, 0);
  assertEverySampleOnce(p, labels.length);
});

test('dirichlet reports unreachable settings and names the knobs', () => {
  assert.throws(
    () => dirichletPartition(labels, 10, { numClients: 100, seed: 1, alpha: 0.01, minSamples: 45, maxDraws: 20 }),
    (e: unknown) =>
      e instanceof PartitionError && /no draw in 20 gave every one of 100 clients at least 45 samples/.test(e.message) && /raise alpha/.test(e.message),
  );
  assert.throws(() => dirichletPartition(labels, 10, { numClients: 100, seed: 1, alpha: 0.1, minSamples: 51 }), /5100 exceeds the 5000 samples; lower minSamples or numClients/);
  assert.throws(() => dirichletPartition(labels, 10, { numClients: 5001, seed: 1, alpha: 0.1, minSamples: 0 }), /5001 clients but only 5000 samples; lower numClients/);
  assert.throws(() => dirichletPartition(labels, 10, { numClients: 4, seed: 1, alpha: 0 }), /alpha must be > 0/);
  assert.throws(() => dirichletPartition(labels, 10, { numClients: 4, seed: 1, alpha: 1, testRatio: 1 }), /testRatio must be in \[0, 1\)/);
  assert.throws(() => dirichletPartition(labels, 5, { numClients: 4, seed: 1, alpha: 1 }), /label \d, but numClasses is 5/);
});

test('shards give each client at most s labels, test labels among train labels', () => {
  for (const s of [1, 2, 3]) {
    const p = shardPartition(labels, 10, { numClients: 30, seed: 9, shardsPerClient: s });
    assertEverySampleOnce(p, labels.length);
    const hist = labelHistograms(p, labels, 10);
    for (const h of hist) {
      const trainLabels = h.train.flatMap((n, y) => (n > 0 ? [y] : []));
      const testLabels = h.test.flatMap((n, y) => (n > 0 ? [y] : []));
      assert.ok(trainLabels.length <= s, `client has labels ${trainLabels} with s=${s}`);
      for (const y of testLabels) assert.ok(trainLabels.includes(y));
    }
  }
});

test('shards: a label with few samples still gets a shard; impossible settings are named', () => {
  const rare = new Uint8Array(1000);
  rare.fill(1, 0, 3); // label 1 has 3 samples, label 0 the rest
  const p = shardPartition(rare, 2, { numClients: 10, seed: 1, shardsPerClient: 1 });
  assertEverySampleOnce(p, 1000);
  assert.throws(() => shardPartition(labels, 10, { numClients: 3, seed: 1, shardsPerClient: 3 }), /9 shards cannot cover the 10 labels.*raise shardsPerClient or numClients/);
  assert.throws(() => shardPartition(labels, 10, { numClients: 2000, seed: 1, shardsPerClient: 3 }), /6000 shards exceeds the 5000 samples/);
});

test('iid sizes differ by at most one and mix all labels', () => {
  const p = iidPartition(labels, 10, { numClients: 7, seed: 5 });
  assertEverySampleOnce(p, labels.length);
  const sizes = p.clients.map((c) => c.train.length + c.test.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  assert.equal(summarizePartition(p, labels).labelsPerClient!.min, 10);
});

test('balanced dirichlet gives equal sizes and skews labels at small alpha', () => {
  const medianTopShare = (alpha: number): number => {
    const p = balancedDirichletPartition(labels, 10, { numClients: 33, seed: 2, alpha });
    for (const c of p.clients) assert.equal(c.train.length + c.test.length, Math.floor(5000 / 33));
    validatePartition(p, labels.length);
    const shares = labelHistograms(p, labels, 10).map((h) => {
      const all = h.train.map((n, y) => n + h.test[y]!);
      return Math.max(...all) / all.reduce((a, b) => a + b, 0);
    });
    return shares.sort((a, b) => a - b)[16]!;
  };
  const skewed = medianTopShare(0.1);
  const flat = medianTopShare(100);
  assert.ok(skewed > flat + 0.2, `median top-class share ${skewed} at alpha 0.1 vs ${flat} at alpha 100`);
  assert.throws(() => balancedDirichletPartition(labels, 10, { numClients: 5001, seed: 1, alpha: 1 }), /5001 clients but only 5000/);
});

test('balanced dirichlet terminates when classes run out (prior mass on exhausted classes)', () => {
  const two = new Uint8Array(400);
  two.fill(1, 0, 20); // class 1 is rare: clients preferring it must fall back to class 0
  const p = balancedDirichletPartition(two, 2, { numClients: 4, seed: 11, alpha: 0.01 });
  assert.equal(validatePartition(p, 400), 400);
});

test('labelHistograms counts train and test per client', () => {
  const tiny = Uint8Array.from([0, 1, 1, 2]);
  const p: Partition = {
    numClients: 2,
    clients: [
      { train: Uint32Array.from([0, 1]), test: Uint32Array.from([2]) },
      { train: Uint32Array.from([3]), test: new Uint32Array(0) },
    ],
  };
  assert.deepEqual(labelHistograms(p, tiny, 3), [
    { train: [1, 1, 0], test: [0, 1, 0] },
    { train: [0, 0, 1], test: [0, 0, 0] },
  ]);
  assert.throws(() => labelHistograms(p, tiny, 2), /label 2, but numClasses is 2/);
  const s = summarizePartition(p, tiny);
  assert.deepEqual([s.samples.min, s.samples.median, s.samples.max], [1, 2, 3]);
  assert.deepEqual([s.labelsPerClient!.min, s.labelsPerClient!.max], [1, 2]);
});

test('validatePartition catches duplicates and out-of-range indices', () => {
  const dup: Partition = { numClients: 1, clients: [{ train: Uint32Array.from([0, 1]), test: Uint32Array.from([1]) }] };
  assert.throws(() => validatePartition(dup, 3), /sample 1 is assigned twice \(again to client 0 test\)/);
  const out: Partition = { numClients: 1, clients: [{ train: Uint32Array.from([5]), test: new Uint32Array(0) }] };
  assert.throws(() => validatePartition(out, 3), /client 0 train holds sample 5, but the data set has 3/);
});

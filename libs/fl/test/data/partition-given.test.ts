import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientLabelCounts } from '../../src/data/index.js';
import {
  PartitionError,
  dirichletPartition,
  indicesPartition,
  labelCountsPartition,
  labelHistograms,
  validatePartition,
  withDatasetTestSplit,
} from '../../src/data/index.js';
import { Rng } from '../../src/util/rng.js';

/** 1000 samples, 4 classes of 100/200/300/400, shuffled. */
const labels = Rng.derive(3, 'given-labels').shuffle(Uint8Array.from([0, 1, 2, 3].flatMap((c) => new Array<number>(100 * (c + 1)).fill(c))));

const rejects = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (err: unknown) => err instanceof PartitionError && pattern.test(err.message));

test('indices: the run uses exactly the given lists, in their order', () => {
  const clients = [
    { train: [5, 3, 9], test: [1] },
    { train: [0, 2], test: [] },
  ];
  const p = indicesPartition(10, { clients });
  assert.equal(p.numClients, 2);
  assert.deepEqual(p.clients.map((c) => [Array.from(c.train), Array.from(c.test)]), [
    [[5, 3, 9], [1]],
    [[0, 2], []],
  ]);
});

test('indices: bad lists are refused, naming the client, the list and the position', () => {
  rejects(() => indicesPartition(10, { clients: [{ train: [1], test: [] }, { train: [2], test: [4, 10] }] }), /client 1 test\[1\] = 10 is not a sample index.*0\.\.9/);
  rejects(() => indicesPartition(10, { clients: [{ train: [1, -1], test: [] }] }), /client 0 train\[1\] = -1/);
  rejects(() => indicesPartition(10, { clients: [{ train: [1.5], test: [] }] }), /client 0 train\[0\] = 1\.5/);
  rejects(
    () => indicesPartition(10, { clients: [{ train: [1, 7], test: [] }, { train: [2], test: [7] }] }),
    /sample 7 is listed twice, at client 0 train\[1\] and at client 1 test\[0\].*allowOverlap/,
  );
  rejects(() => indicesPartition(10, { clients: [{ train: [1], test: [] }, { train: [], test: [3] }] }), /client 1 has no train samples/);
  rejects(() => indicesPartition(10, { clients: [] }), /no clients/);
});

test('indices: overlap passes when allowed; the dataset split checks which files an index is in', () => {
  const p = indicesPartition(10, { clients: [{ train: [1, 2], test: [8] }, { train: [2], test: [8] }], allowOverlap: true });
  assert.deepEqual(Array.from(p.clients[1]!.train), [2]);
  rejects(() => indicesPartition(10, { clients: [{ train: [1, 8], test: [9] }], datasetTrainSamples: 8 }), /client 0 train\[1\] = 8 lies in the data set's test files/);
  rejects(() => indicesPartition(10, { clients: [{ train: [1], test: [2] }], datasetTrainSamples: 8 }), /client 0 test\[0\] = 2 lies in the data set's train files/);
});

const countsOf = (ix: Uint32Array): number[] => {
  const h = [0, 0, 0, 0];
  for (const i of ix) h[labels[i]!]!++;
  return h;
};

test('label-counts: every client gets exactly the requested train and test counts per class, seeded', () => {
  const clients = [
    { train: [10, 0, 50, 3], test: [2, 0, 10, 1] },
    { train: [88, 190, 0, 0], test: [0, 10, 0, 0] },
    { train: [0, 0, 240, 396], test: [0, 0, 0, 0] },
  ];
  const p = labelCountsPartition(labels, 4, { clients, seed: 5 });
  validatePartition(p, labels.length);
  assert.deepEqual(labelHistograms(p, labels, 4), clients);
  assert.deepEqual(labelCountsPartition(labels, 4, { clients, seed: 5 }), p);
  const other = labelCountsPartition(labels, 4, { clients, seed: 6 });
  assert.notDeepEqual(other.clients, p.clients);
  assert.deepEqual(labelHistograms(other, labels, 4), clients);
});

test("label-counts: totals split like PFLlib's train_test_split (⌊0.75·n⌋ train, shuffled)", () => {
  const clients: ClientLabelCounts[] = [{ total: [13, 0, 0, 0] }, { total: [7, 30, 1, 0] }, { total: [0, 0, 0, 2] }];
  const p = labelCountsPartition(labels, 4, { clients, seed: 1 });
  validatePartition(p, labels.length);
  assert.deepEqual(p.clients.map((c) => [c.train.length, c.test.length]), [
    [9, 4],
    [28, 10],
    [1, 1],
  ]);
  p.clients.forEach((c, j) => {
    const all = countsOf(c.train).map((n, k) => n + countsOf(c.test)[k]!);
    assert.deepEqual(all, (clients[j] as { total: number[] }).total);
  });
  const half = labelCountsPartition(labels, 4, { clients, seed: 1, trainRatio: 0.5 });
  assert.deepEqual(half.clients.map((c) => c.train.length), [6, 19, 1]);
});

test('label-counts: counts the data set cannot supply, or malformed, are refused naming the problem', () => {
  rejects(
    () => labelCountsPartition(labels, 4, { seed: 1, clients: [{ train: [0, 0, 0, 300], test: [0, 0, 0, 50] }, { train: [0, 0, 0, 60], test: [0, 0, 0, 0] }] }),
    /ask for 410 samples of class 3, but the data set holds 400/,
  );
  rejects(() => labelCountsPartition(labels, 4, { seed: 1, clients: [{ train: [1, 2, 3], test: [0, 0, 0] }] }), /client 0 has 3 train counts, the data set has 4 classes/);
  rejects(() => labelCountsPartition(labels, 4, { seed: 1, clients: [{ train: [1, 2, 3, 4], test: [0, -1, 0, 0] }] }), /client 0 test count of class 1 is -1/);
  rejects(() => labelCountsPartition(labels, 4, { seed: 1, clients: [{ train: [1, 0, 0, 0], test: [0, 0, 0, 0] }, { train: [0, 0, 0, 0], test: [5, 0, 0, 0] }] }), /client 1 gets no train samples/);
  rejects(() => labelCountsPartition(labels, 4, { seed: 1, clients: [{ total: [1, 0, 0, 0] }] }), /client 0 gets no train samples/);
});

test("label-counts with the data set's own split: train from the train files, test from the test files", () => {
  const trainSamples = 800;
  const inTrain = countsOf(Uint32Array.from({ length: trainSamples }, (_, i) => i));
  const inTest = [0, 1, 2, 3].map((c) => [100, 200, 300, 400][c]! - inTrain[c]!);
  const clients = [
    { train: inTrain.map((n) => Math.floor(n / 2)), test: inTest.map((n) => Math.floor(n / 2)) },
    { train: inTrain.map((n) => Math.ceil(n / 2)), test: inTest.map((n) => Math.ceil(n / 2)) },
  ];
  const p = labelCountsPartition(labels, 4, { seed: 2, clients, datasetTrainSamples: trainSamples });
  assert.equal(validatePartition(p, labels.length), labels.length);
  assert.deepEqual(labelHistograms(p, labels, 4), clients);
  for (const c of p.clients) {
    assert.ok(c.train.every((i) => i < trainSamples) && c.test.every((i) => i >= trainSamples));
  }
  const tooMany = [{ train: inTrain.map((n, k) => (k === 2 ? n + 1 : n)), test: [0, 0, 0, 0] }];
  rejects(() => labelCountsPartition(labels, 4, { seed: 2, clients: tooMany, datasetTrainSamples: trainSamples }), /class 2, but the data set's train files hold/);
  rejects(() => labelCountsPartition(labels, 4, { seed: 2, clients: [{ total: [4, 4, 4, 4] }], datasetTrainSamples: trainSamples }), /client 0 gives total counts only/);
});

test("the data set's own test split: test labels follow each client's train labels, all from the test files", () => {
  const trainSamples = 700;
  const p = withDatasetTestSplit(labels, 4, trainSamples, 9, (trainLabels) =>
    dirichletPartition(trainLabels, 4, { numClients: 8, seed: 9, alpha: 0.5, testRatio: 0 }),
  );
  assert.equal(validatePartition(p, labels.length), labels.length, 'every test sample of a class some client trains on is used');
  const hist = labelHistograms(p, labels, 4);
  const testPool = countsOf(Uint32Array.from({ length: labels.length - trainSamples }, (_, i) => trainSamples + i));
  for (let c = 0; c < 4; c++) {
    const trainTotal = hist.reduce((a, h) => a + h.train[c]!, 0);
    hist.forEach((h, j) => {
      const share = (testPool[c]! * h.train[c]!) / trainTotal;
      assert.ok(Math.abs(h.test[c]! - share) < 1, `client ${j} class ${c}: ${h.test[c]} test samples for a share of ${share.toFixed(2)}`);
    });
  }
  for (const c of p.clients) assert.ok(c.train.every((i) => i < trainSamples) && c.test.every((i) => i >= trainSamples));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  DataError,
  FASHION_MNIST_NORMALIZATION,
  MNIST_NORMALIZATION,
  clientData,
  computeNormalization,
  encodeIdx,
  imageDataset,
  imageDatasetFromIdx,
} from '../../src/data/index.js';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('presets hold the published values', () => {
  assert.deepEqual(FASHION_MNIST_NORMALIZATION, { mean: 0.286, std: 0.3205 });
  assert.deepEqual(MNIST_NORMALIZATION, { mean: 0.1307, std: 0.3081 });
});

test('gather normalises (p/255 − mean)/std in the order asked', () => {
  const ds = imageDataset({
    name: 't',
    pixels: Uint8Array.from([0, 255, 51, 102, 10, 20]),
    labels: Uint8Array.from([1, 0, 1]),
    featureShape: [2, 1, 1],
    numClasses: 2,
    normalization: { mean: 0.5, std: 0.25 },
  });
  assert.equal(ds.numSamples, 3);
  assert.deepEqual(ds.featureShape, [2, 1, 1]);
  const x = ds.gather([1, 0]);
  assert.equal(x.length, 4);
  close(x[0]!, (51 / 255 - 0.5) / 0.25);
  close(x[1]!, (102 / 255 - 0.5) / 0.25);
  close(x[2]!, -2);
  close(x[3]!, 2);
  assert.equal(ds.gather([]).length, 0);
  assert.throws(() => ds.gather([3]), /t\.gather: sample index 3 is outside 0\.\.2/);
});

test('clientData gathers features and int32 labels', () => {
  const ds = imageDataset({
    name: 't',
    pixels: Uint8Array.from([0, 255, 51, 102, 10, 20]),
    labels: Uint8Array.from([1, 0, 1]),
    featureShape: [2],
    numClasses: 2,
    normalization: { mean: 0, std: 1 },
  });
  const cd = clientData(ds, Uint32Array.from([2, 1]));
  assert.equal(cd.n, 2);
  assert.deepEqual(Array.from(cd.y), [1, 0]);
  assert.ok(cd.y instanceof Int32Array);
  assert.deepEqual(cd.featureShape, [2]);
  close(cd.x[0]!, 10 / 255);
  close(cd.x[3]!, 102 / 255);
});

test('imageDataset rejects inconsistent inputs', () => {
  const base = { name: 'bad', featureShape: [2], numClasses: 2, normalization: { mean: 0, std: 1 } };
  assert.throws(() => imageDataset({ ...base, pixels: new Uint8Array(5), labels: new Uint8Array(3) }), /3 labels need 6 pixels/);
  assert.throws(() => imageDataset({ ...base, pixels: new Uint8Array(4), labels: Uint8Array.from([0, 2]) }), /sample 1 has label 2, but numClasses is 2/);
  assert.throws(
    () => imageDataset({ ...base, pixels: new Uint8Array(4), labels: new Uint8Array(2), normalization: { mean: 0, std: 0 } }),
    DataError,
  );
});

function pair(n: number, firstPixel: number, firstLabel: number, rows = 2, cols = 2) {
  const px = Uint8Array.from({ length: n * rows * cols }, (_, i) => (firstPixel + i) % 256);
  const lb = Uint8Array.from({ length: n }, (_, i) => (firstLabel + i) % 10);
  return { images: encodeIdx([n, rows, cols], px), labels: encodeIdx([n], lb) };
}

test('IDX pairs are pooled train first, then test', () => {
  const train = pair(3, 0, 0);
  const t10k = pair(2, 100, 5);
  const ds = imageDatasetFromIdx({
    name: 'pool',
    pairs: [
      { images: new Uint8Array(gzipSync(train.images)), labels: train.labels },
      { images: t10k.images, labels: new Uint8Array(gzipSync(t10k.labels)) },
    ],
    normalization: { mean: 0, std: 1 },
    numClasses: 10,
  });
  assert.equal(ds.numSamples, 5);
  assert.deepEqual(ds.featureShape, [2, 2, 1]);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 5, 6]);
  close(ds.gather([3])[0]!, 100 / 255);
  close(ds.gather([2])[3]!, 11 / 255);
});

test('numClasses defaults to max label + 1 and normalization to the data', () => {
  const p = pair(4, 0, 0);
  const ds = imageDatasetFromIdx({ name: 'auto', pairs: [p] });
  assert.equal(ds.numClasses, 4);
  const x = ds.gather([0, 1, 2, 3]);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
  close(mean, 0, 1e-5);
  close(sd, 1, 1e-5);
});

test('computeNormalization matches a direct computation; constant images get std 1', () => {
  const px = Uint8Array.from([0, 255, 128, 64]);
  const v = Array.from(px, (p) => p / 255);
  const m = v.reduce((a, b) => a + b, 0) / 4;
  const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
  const n = computeNormalization(px);
  close(n.mean, m, 1e-12);
  close(n.std, s, 1e-12);
  assert.deepEqual(computeNormalization(new Uint8Array(3).fill(7)), { mean: 7 / 255, std: 1 });
});

test('mismatched IDX pairs are rejected, naming the files', () => {
  const a = pair(3, 0, 0);
  const b = pair(2, 0, 0);
  assert.throws(
    () => imageDatasetFromIdx({ name: 'x', pairs: [{ images: a.images, labels: b.labels, imagesSource: 'ti', labelsSource: 'tl' }] }),
    /ti has 3 images but tl has 2 labels/,
  );
  const wide = pair(2, 0, 0, 2, 3);
  assert.throws(
    () => imageDatasetFromIdx({ name: 'x', pairs: [a, { ...wide, imagesSource: 'wide' }] }),
    /wide holds 2×3 images, .* 2×2/,
  );
  assert.throws(() => imageDatasetFromIdx({ name: 'x', pairs: [a], numClasses: 2 }), /label 2, but numClasses is 2/);
  assert.throws(() => imageDatasetFromIdx({ name: 'x', pairs: [] }), /no IDX files/);
});

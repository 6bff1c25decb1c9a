import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, validatePartition, summarizePartition, labelHistograms } from '@fedsim/fl/data';
import {
  DatasetNotFoundError,
  clearDatasetCache,
  datasetConfigSchema,
  loadDataset,
  loadImageDataset,
  partitionConfigSchema,
  partitionFor,
} from '../../src/data/index.js';

const root = mkdtempSync(join(tmpdir(), 'fedsim-data-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

type Naming = 'gz' | 'raw' | 'dotted';
const BASES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

/** Writes a tiny MNIST-format set: 3 train + 2 test 2×2 images, pixel values and labels known. */
function writeSet(dir: string, naming: Naming, opts: { withTest?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true });
  const contents: Record<(typeof BASES)[number], Uint8Array> = {
    'train-images-idx3-ubyte': encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20)),
    'train-labels-idx1-ubyte': encodeIdx([3], Uint8Array.from([9, 0, 3])),
    't10k-images-idx3-ubyte': encodeIdx([2, 2, 2], Uint8Array.from({ length: 8 }, () => 255)),
    't10k-labels-idx1-ubyte': encodeIdx([2], Uint8Array.from([1, 2])),
  };
  for (const base of BASES) {
    if (base.startsWith('t10k') && opts.withTest === false) continue;
    const name = naming === 'dotted' ? base.replace(/-(idx\d-ubyte)$/, '.$1') : base;
    const bytes = naming === 'gz' ? gzipSync(contents[base]) : contents[base];
    writeFileSync(join(dir, naming === 'gz' ? `${name}.gz` : name), bytes);
  }
}

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);

for (const naming of ['gz', 'raw', 'dotted'] as const) {
  test(`fashion-mnist loads ${naming} IDX files from a folder, train first then t10k`, async () => {
    const dir = join(root, `fm-${naming}`);
    writeSet(dir, naming);
    const ds = await loadImageDataset({ name: 'fashion-mnist', dir });
    assert.equal(ds.name, 'fashion-mnist');
    assert.equal(ds.numSamples, 5);
    assert.deepEqual(ds.featureShape, [2, 2, 1]);
    assert.equal(ds.numClasses, 10);
    assert.deepEqual(Array.from(ds.labels), [9, 0, 3, 1, 2]);
    const x = ds.gather([1, 4]);
    close(x[0]!, (80 / 255 - 0.286) / 0.3205);
    close(x[4]!, (1 - 0.286) / 0.3205);
  });
}

test('FEDSIM_DATA_DIR is a root holding one folder per data set; mnist uses its own normalisation', async () => {
  writeSet(join(root, 'envroot', 'mnist'), 'gz');
  const ds = await loadImageDataset({ name: 'mnist', dataRoot: join(root, 'envroot') });
  close(ds.gather([0])[1]!, (20 / 255 - 0.1307) / 0.3081);
});

test('missing files name the path and how to fix it', async () => {
  const dir = join(root, 'partial');
  writeSet(dir, 'gz');
  rmSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
  await assert.rejects(
    loadImageDataset({ name: 'fashion-mnist', dir }),
    (e: unknown) =>
      e instanceof DatasetNotFoundError &&
      e.path === join(dir, 't10k-labels-idx1-ubyte.gz') &&
      e.message.includes(`missing ${join(dir, 't10k-labels-idx1-ubyte.gz')}`) &&
      e.message.includes('sudo apt-get install dataset-fashion-mnist') &&
      e.message.includes('data.dir') &&
      e.message.includes('FEDSIM_DATA_DIR'),
  );
  await assert.rejects(
    loadImageDataset({ name: 'mnist', dataRoot: join(root, 'nowhere') }),
    (e: unknown) =>
      e instanceof DatasetNotFoundError &&
      e.message.includes(join(root, 'nowhere', 'mnist', 'train-images-idx3-ubyte.gz')) &&
      e.message.includes('and 3 more'),
  );
});

test('idx data sets: explicit files (relative to dir), optional test pair, computed normalisation', async () => {
  const dir = join(root, 'own');
  writeSet(dir, 'raw', { withTest: false });
  const ds = await loadImageDataset({
    name: 'idx',
    label: 'mine',
    dir,
    files: { trainImages: 'train-images-idx3-ubyte', trainLabels: join(dir, 'train-labels-idx1-ubyte') },
  });
  assert.equal(ds.name, 'mine');
  assert.equal(ds.numSamples, 3);
  assert.equal(ds.numClasses, 10);
  const x = ds.gather([0, 1, 2]);
  close(x.reduce((a, b) => a + b, 0) / x.length, 0);
  // a folder of standard names without t10k files is fine for idx
  assert.equal((await loadImageDataset({ name: 'idx', dir })).numSamples, 3);
  await assert.rejects(
    loadImageDataset({ name: 'idx', dir, files: { trainImages: 'nope', trainLabels: 'train-labels-idx1-ubyte' } }),
    (e: unknown) => e instanceof DatasetNotFoundError && e.message.includes(`trainImages file ${join(dir, 'nope')} does not exist`),
  );
});

test('corrupt files fail with the file name', async () => {
  const dir = join(root, 'corrupt');
  writeSet(dir, 'raw');
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([4], new Uint8Array(4)));
  await assert.rejects(loadImageDataset({ name: 'fashion-mnist', dir }), /train-images-idx3-ubyte has 3 images but .*train-labels-idx1-ubyte has 4 labels/);
  const gz = gzipSync(encodeIdx([2], new Uint8Array(2)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gz.subarray(0, gz.length - 6));
  await assert.rejects(loadImageDataset({ name: 'fashion-mnist', dir }), /t10k-labels-idx1-ubyte\.gz: gzip data is corrupt or truncated/);
});

test('files larger than a read chunk load byte for byte; a body longer or shorter than its header says is refused', async () => {
  const dir = join(root, 'large');
  mkdirSync(dir, { recursive: true });
  // 3 MiB of pixels: several gunzip chunks, the first one starting with the header
  const count = 4000;
  const pixels = Uint8Array.from({ length: count * 28 * 28 }, (_, i) => (i * 2654435761) >>> 24);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const write = (base: string, bytes: Uint8Array, gz: boolean) => writeFileSync(join(dir, gz ? `${base}.gz` : base), gz ? gzipSync(bytes) : bytes);
  write('train-images-idx3-ubyte', encodeIdx([count, 28, 28], pixels), true);
  write('train-labels-idx1-ubyte', encodeIdx([count], labels), false);
  write('t10k-images-idx3-ubyte', encodeIdx([1, 28, 28], pixels.subarray(0, 784)), false);
  write('t10k-labels-idx1-ubyte', encodeIdx([1], labels.subarray(0, 1)), true);
  const ds = await loadImageDataset({ name: 'idx', dir, normalization: { mean: 0, std: 1 } });
  assert.equal(ds.numSamples, count + 1);
  assert.equal(ds.trainSamples, count);
  assert.deepEqual(ds.gather([0, 1234, count - 1, count]), Float32Array.from(
    [0, 1234, count - 1, 0].flatMap((i) => Array.from(pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255)),
  ));
  assert.deepEqual(Array.from(ds.labels.subarray(count - 2)), [8, 9, 0]);

  const longer = new Uint8Array([...encodeIdx([count, 28, 28], pixels), 7]);
  write('train-images-idx3-ubyte', longer, true);
  await assert.rejects(loadImageDataset({ name: 'idx', label: 'longer', dir }), /train-images-idx3-ubyte\.gz: IDX data has trailing bytes: dimensions \[4000, 28, 28\] need 3136000 bytes, found 3136001/);
  write('train-images-idx3-ubyte', longer.subarray(0, longer.length - 2), true);
  await assert.rejects(loadImageDataset({ name: 'idx', label: 'shorter', dir }), /IDX data truncated: dimensions \[4000, 28, 28\] need 3136000 bytes, found 3135999/);
});

test('a data set is loaded once per process (until the cache is cleared)', async () => {
  const dir = join(root, 'cached');
  writeSet(dir, 'gz');
  const [a, b] = await Promise.all([loadImageDataset({ name: 'fashion-mnist', dir }), loadImageDataset({ name: 'fashion-mnist', dir })]);
  assert.equal(a, b);
  assert.equal(await loadDataset({ kind: 'fashion-mnist', dir }), a);
  clearDatasetCache();
  assert.notEqual(await loadImageDataset({ name: 'fashion-mnist', dir }), a);
});

test('loadDataset: dataDir overrides the config dir; idx and synthetic configs', async () => {
  const dir = join(root, 'override');
  writeSet(dir, 'gz');
  const ds = await loadDataset({ kind: 'fashion-mnist', dir: join(root, 'wrong') }, { dataDir: dir });
  assert.equal(ds.numSamples, 5);
  const own = await loadDataset({ kind: 'idx', name: 'own', dir, normalization: { mean: 0, std: 1 }, numClasses: 12 });
  assert.equal(own.numClasses, 12);
  close(own.gather([0])[1]!, 20 / 255);

  const syn = await loadDataset({ kind: 'synthetic', numSamples: 300, numClasses: 3, featureShape: [5] });
  assert.equal(syn.numSamples, 300);
  assert.deepEqual(syn.featureShape, [5]);
  assert.equal(await loadDataset({ kind: 'synthetic', numSamples: 300, numClasses: 3, featureShape: [5] }), syn);
  const other = await loadDataset({ kind: 'synthetic', numSamples: 300, numClasses: 3, featureShape: [5], seed: 1 });
  assert.notDeepEqual(other.gather([0]), syn.gather([0]));
});

test('config schemas fill defaults and reject bad fields by name', async () => {
  assert.deepEqual(partitionConfigSchema.parse({ kind: 'dirichlet' }), {
    kind: 'dirichlet',
    numClients: 100,
    testRatio: 0.25,
    alpha: 0.1,
    minSamples: 10,
    maxDraws: 1000,
    capAtMean: false,
  });
  assert.deepEqual(partitionConfigSchema.parse({ kind: 'shards', numClients: 5 }), { kind: 'shards', numClients: 5, testRatio: 0.25, shardsPerClient: 2 });
  assert.deepEqual(datasetConfigSchema.parse({ kind: 'synthetic' }), {
    kind: 'synthetic',
    numSamples: 10000,
    numClasses: 10,
    featureShape: [32],
    separation: 4,
    seed: 42,
  });
  assert.equal(datasetConfigSchema.safeParse({ kind: 'idx' }).success, false);
  assert.equal(datasetConfigSchema.safeParse({ kind: 'fashion-mnist', dri: '/x' }).success, false);
  assert.equal(partitionConfigSchema.safeParse({ kind: 'iid', alpha: 0.1 }).success, false);
  await assert.rejects(loadDataset({ kind: 'synthetic', numClasses: 1 }), /invalid data config:\n\s+- data\.numClasses:/);
  await assert.rejects(loadDataset({ kind: 'idx' }), /data\.dir: an 'idx' data set needs data\.dir/);
  assert.throws(
    () => partitionFor({ labels: new Uint8Array(10), numClasses: 2 } as never, { kind: 'dirichlet', alpha: -1 }),
    /invalid partition config:\n\s+- partition\.alpha/,
  );
});

test('partitionFor runs every kind; config seed wins over the default seed', async () => {
  const ds = await loadDataset({ kind: 'synthetic', numSamples: 2000, numClasses: 10, featureShape: [4] });
  const configs = [
    { kind: 'dirichlet', numClients: 20, alpha: 0.5 },
    { kind: 'shards', numClients: 20, shardsPerClient: 2 },
    { kind: 'iid', numClients: 20 },
    { kind: 'balanced-dirichlet', numClients: 20, alpha: 0.5 },
  ] as const;
  for (const config of configs) {
    const p = partitionFor(ds, config, 42);
    assert.equal(p.numClients, 20);
    validatePartition(p, ds.numSamples);
    assert.deepEqual(partitionFor(ds, config, 42), p);
    assert.notDeepEqual(partitionFor(ds, config, 43).clients, p.clients);
    assert.deepEqual(partitionFor(ds, { ...config, seed: 42 }, 7), p);
  }
});

const FMNIST = '/usr/share/datasets/fashion-mnist';
const haveFmnist = existsSync(join(FMNIST, 'train-images-idx3-ubyte.gz'));

test(
  'real Fashion-MNIST: 70,000 pooled samples and the reference Dir(0.1) split',
  { skip: haveFmnist ? false : `Fashion-MNIST not found in ${FMNIST}; install it with: sudo apt-get install dataset-fashion-mnist` },
  async () => {
    const ds = await loadDataset({ kind: 'fashion-mnist' });
    assert.equal(ds.numSamples, 70_000);
    assert.deepEqual(ds.featureShape, [28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const y of ds.labels) counts[y]++;
    assert.deepEqual(counts, new Array(10).fill(7000));
    // first train labels, then the first t10k labels at 60,000
    assert.deepEqual(Array.from(ds.labels.subarray(0, 4)), [9, 0, 0, 3]);
    assert.deepEqual(Array.from(ds.labels.subarray(60_000, 60_004)), [9, 2, 1, 1]);
    const first = ds.gather([0]);
    const raw = Array.from(first, (v) => Math.round((v * 0.3205 + 0.286) * 255));
    assert.equal(raw.reduce((a, b) => a + b, 0), 76247);

    const p = partitionFor(ds, { kind: 'dirichlet', numClients: 100, alpha: 0.1 }, 42);
    assert.equal(validatePartition(p, ds.numSamples), 70_000);
    const s = summarizePartition(p, ds.labels);
    assert.ok(s.samples.min >= 10);
    // Pinned so a change to the partitioner or the Rng (which would silently change every run's data) is noticed.
    assert.deepEqual([s.samples.min, s.samples.median, s.samples.max], [21, 538, 3493]);
    const hist = labelHistograms(p, ds.labels, 10);
    assert.equal(hist.reduce((a, h) => a + h.train.reduce((x, y) => x + y, 0) + h.test.reduce((x, y) => x + y, 0), 0), 70_000);
  },
);

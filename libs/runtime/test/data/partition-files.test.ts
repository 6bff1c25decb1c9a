import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx, labelHistograms, validatePartition } from '@fedsim/fl/data';
import type { Dataset } from '@fedsim/fl/data';
import type { PartitionConfigInput } from '../../src/data/index.js';
import {
  PFLLIB_COUNTS_KEY,
  formatSplitFile,
  indicesFileOf,
  labelCountsFileOf,
  loadDataset,
  partitionFor,
  pfllibCountsFile,
} from '../../src/data/index.js';
import { algorithmEnv, modelFor, parseExperiment } from '../../src/index.js';
import { parse as parseYaml } from 'yaml';

const root = mkdtempSync(join(tmpdir(), 'fedsim-splitfiles-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const ds = await loadDataset({ kind: 'synthetic', numSamples: 600, numClasses: 4, featureShape: [3] });
const classSizes = [0, 1, 2, 3].map((c) => ds.labels.filter((y) => y === c).length);

let fileNo = 0;
/** Writes `content` (JSON-encoded unless a string) to a fresh file and returns its path. */
function file(content: unknown): string {
  const path = join(root, `split-${fileNo++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const fromFile = (kind: 'indices' | 'label-counts', path: string, numClients: number, extra: object = {}, dataset: Dataset = ds) =>
  partitionFor(dataset, { kind, file: path, numClients, ...extra } as PartitionConfigInput, 42);

test('export → import: an indices file reproduces the split exactly, a label-counts file its counts', () => {
  const drawn = partitionFor(ds, { kind: 'dirichlet', numClients: 8, alpha: 0.3 }, 7);
  const indicesPath = file(formatSplitFile(indicesFileOf(drawn, ds.numSamples), 'clients'));
  assert.deepEqual(fromFile('indices', indicesPath, 8), drawn);

  const countsPath = file(formatSplitFile(labelCountsFileOf(drawn, ds.labels, ds.numClasses), 'clients'));
  const redrawn = fromFile('label-counts', countsPath, 8);
  validatePartition(redrawn, ds.numSamples);
  assert.deepEqual(labelHistograms(redrawn, ds.labels, 4), labelHistograms(drawn, ds.labels, 4));
  assert.notDeepEqual(redrawn.clients, drawn.clients, 'the samples are drawn anew, only the counts are kept');
  assert.deepEqual(fromFile('label-counts', countsPath, 8, { seed: 42 }), redrawn, 'seeded');
  // Readable as plain JSON with the documented fields.
  const parsed = JSON.parse(readFileSync(countsPath, 'utf8')) as { format: string; numClasses: number; clients: unknown[] };
  assert.deepEqual([parsed.format, parsed.numClasses, parsed.clients.length], ['fedsim.label-counts/1', 4, 8]);
});

test('an overlapping split exports with allowOverlap and reads back; one made for a larger data set is refused', () => {
  const overlapping = { numClients: 2, clients: [{ train: Uint32Array.from([1, 2]), test: Uint32Array.from([3]) }, { train: Uint32Array.from([2, 4]), test: new Uint32Array(0) }] };
  const exported = indicesFileOf(overlapping, ds.numSamples);
  assert.equal(exported.allowOverlap, true);
  assert.equal(indicesFileOf({ numClients: 1, clients: [overlapping.clients[0]!] }, ds.numSamples).allowOverlap, false);
  assert.deepEqual(fromFile('indices', file(formatSplitFile(exported, 'clients')), 2), overlapping);
  assert.throws(() => indicesFileOf(overlapping, 4), /client 1 holds sample 4, but the data set has 4/);
});

test("PFLlib's config.json layout is read directly: totals per client, ⌊0.75·n⌋ of them for training", () => {
  const totals = [
    [40, 0, 10, 0],
    [0, 33, 0, 7],
    [1, 1, 1, 1],
  ];
  // PFLlib writes other settings beside the counts; they must not get in the way.
  const path = file({ ...pfllibCountsFile(totals, 4), non_iid: true, balance: false, partition: 'dir', alpha: 0.1, batch_size: 10 });
  const p = fromFile('label-counts', path, 3);
  const hist = labelHistograms(p, ds.labels, 4);
  assert.deepEqual(hist.map((h) => h.train.map((n, c) => n + h.test[c]!)), totals);
  assert.deepEqual(p.clients.map((c) => c.train.length), [37, 30, 3]);
  assert.deepEqual(fromFile('label-counts', path, 3, { trainRatio: 0.5 }).clients.map((c) => c.train.length), [25, 20, 2]);
});

test('bad split files are refused with an error naming the file and the problem', () => {
  const refuses = (kind: 'indices' | 'label-counts', content: unknown, numClients: number, pattern: RegExp, extra: object = {}) => {
    const path = file(content);
    assert.throws(() => fromFile(kind, path, numClients, extra), (err: unknown) => {
      assert.ok(err instanceof Error && err.message.includes(path), `names the file: ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    });
  };
  refuses('indices', '{"clients": [{"train": [1, 2]', 1, /is not valid JSON/);
  refuses('label-counts', '[[0, 1]', 1, /is not valid JSON/);
  refuses('indices', { clients: [{ train: [1, 600], test: [] }] }, 1, /client 0 train\[1\] = 600 is not a sample index/);
  refuses('indices', { clients: [{ train: [1, 2], test: [3] }, { train: [4], test: [2] }] }, 2, /sample 2 is listed twice, at client 0 train\[1\] and at client 1 test\[0\]/);
  refuses('indices', { clients: [{ train: [1], test: [] }, { train: [], test: [] }] }, 2, /client 1 has no train samples \(and no test samples\)/);
  refuses('indices', { clients: [{ train: [1, 'x'] }] }, 1, /clients\.0\.train\.1/);
  refuses('indices', { numSamples: 70000, clients: [{ train: [1] }] }, 1, /data set of 70000 samples, this one has 600/);
  refuses('indices', { clients: [{ train: [1] }, { train: [2] }] }, 3, /lists 2 clients but partition\.numClients is 3/);
  refuses('label-counts', { clients: [{ train: [0, 0, classSizes[2]! + 1, 0], test: [0, 0, 0, 0] }] }, 1, new RegExp(`ask for ${classSizes[2]! + 1} samples of class 2, but the data set holds ${classSizes[2]}`));
  refuses('label-counts', { [PFLLIB_COUNTS_KEY]: [[[0, 5], [4, 1]]] }, 1, /client 0 counts label 4, the data set has labels 0\.\.3/);
  refuses('label-counts', { [PFLLIB_COUNTS_KEY]: [[[0, 5], [0, 1]]] }, 1, /client 0 lists label 0 twice/);
  refuses('label-counts', { num_clients: 2, [PFLLIB_COUNTS_KEY]: [[[0, 5]]] }, 1, /num_clients is 2 but .* lists 1 clients/);
  refuses('label-counts', { clients: [{ train: [1, 2, 3, 4], test: [0, 0, 0, -2] }] }, 1, /clients\.0\.test\.3/);
  refuses('label-counts', { counts: [] }, 1, /expected a JSON object with "clients"/);
  assert.throws(() => fromFile('indices', join(root, 'missing.json'), 1), /missing\.json: cannot read it \(ENOENT\)/);
});

/** A tiny MNIST-format set: 6 train then 4 test 2×2 images, labels 0/1 alternating. */
function writeIdxSet(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const pixels = (n: number) => Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256);
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 2);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx([6, 2, 2], pixels(6)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([6], labels(6)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([4, 2, 2], pixels(4)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([4], labels(4)));
}

test('normalisation of a named data set: published values by default, the config’s when given', async () => {
  const dir = join(root, 'fm');
  writeIdxSet(dir);
  const published = await loadDataset({ kind: 'fashion-mnist', dir });
  const pfllib = await loadDataset({ kind: 'fashion-mnist', dir, normalization: { mean: 0.5, std: 0.5 } });
  const p = 37 * 5; // pixel 1 of sample 1
  assert.ok(Math.abs(published.gather([1])[1]! - (p / 255 - 0.286) / 0.3205) < 1e-6);
  assert.ok(Math.abs(pfllib.gather([1])[1]! - (p / 255 - 0.5) / 0.5) < 1e-6);
  assert.equal(published.trainSamples, 6, 'where the test files start');
});

test("testSplit 'dataset': clients train on the train files and test on the test files", async () => {
  const dir = join(root, 'fm-split');
  writeIdxSet(dir);
  const small = await loadDataset({ kind: 'fashion-mnist', dir });
  const p = partitionFor(small, { kind: 'iid', numClients: 2, testSplit: 'dataset' }, 1);
  assert.equal(validatePartition(p, small.numSamples), 10);
  for (const c of p.clients) assert.ok(c.train.every((i) => i < 6) && c.test.every((i) => i >= 6));
  assert.throws(() => partitionFor(ds, { kind: 'iid', numClients: 2, testSplit: 'dataset' }), /has no separate test files/);
  const mixed = file({ clients: [{ train: [0, 7], test: [8] }] });
  assert.throws(() => fromFile('indices', mixed, 1, { testSplit: 'dataset' }, small), /client 0 train\[1\] = 7 lies in the data set's test files/);
});

test('train.dropLast reaches the training settings only when set, so existing configs hash as before', () => {
  const base = {
    name: 'x',
    data: { kind: 'synthetic', numSamples: 100, featureShape: [3], numClasses: 2 },
    partition: { kind: 'iid', numClients: 2 },
    model: 'logreg',
    algorithm: { name: 'fedavg' },
    rounds: 1,
  };
  const plain = parseExperiment(base);
  assert.equal('dropLast' in plain.train, false);
  assert.equal('testSplit' in plain.partition, false);
  const envOf = (cfg: typeof plain) => algorithmEnv(cfg, modelFor(cfg, ds), 2);
  assert.equal(envOf(plain).train.dropLast, undefined);
  assert.equal(envOf(parseExperiment({ ...base, train: { dropLast: true } })).train.dropLast, true);
  assert.equal(envOf(parseExperiment({ ...base, train: { dropLast: false } })).train.dropLast, false);
});

const repo = join(import.meta.dirname, '..', '..', '..', '..');
const FMNIST = '/usr/share/datasets/fashion-mnist';
const noFmnist = existsSync(join(FMNIST, 'train-labels-idx1-ubyte.gz'))
  ? false
  : `Fashion-MNIST not found in ${FMNIST}; install it with: sudo apt-get install dataset-fashion-mnist`;

test("the worked example: its config matches every client's counts of the shipped PFLlib-layout file", { skip: noFmnist }, async () => {
  const config = parseExperiment(parseYaml(readFileSync(join(repo, 'configs/reproduce-fmnist-pfllib.yaml'), 'utf8')));
  assert.equal(config.partition.kind, 'label-counts');
  const shipped = join(repo, (config.partition as { file: string }).file);
  const fmnist = await loadDataset(config.data);
  const p = partitionFor(fmnist, { ...config.partition, file: shipped }, config.seed);
  assert.equal(validatePartition(p, fmnist.numSamples), 70_000);
  const counts = (JSON.parse(readFileSync(shipped, 'utf8')) as Record<string, [number, number][][]>)[PFLLIB_COUNTS_KEY]!;
  labelHistograms(p, fmnist.labels, 10).forEach((h, j) => {
    const pairs = h.train.map((n, c) => [c, n + h.test[c]!]).filter(([, n]) => n! > 0);
    assert.deepEqual(pairs, counts[j], `client ${j}`);
  });
  assert.ok(Math.abs(fmnist.gather([0])[0]! - (0 - 0.5) / 0.5) < 1e-6, 'PFLlib normalisation: a black pixel is −1');
});

test('the shipped label-counts file is what scripts/make-label-counts.ts writes', { skip: noFmnist }, () => {
  const written = execFileSync(
    process.execPath,
    ['--conditions=fedsim-source', '--import', 'tsx', 'scripts/make-label-counts.ts', '--clients', '20', '--alpha', '0.1', '--seed', '1'],
    { cwd: repo, encoding: 'utf8' },
  );
  assert.equal(written, readFileSync(join(repo, 'configs/partitions/fmnist-dir0.1-20clients.pfllib.json'), 'utf8'));
});

import { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import { indicesByLabel } from './common.js';

/**
 * How many samples of each class (index = class) one client holds: either its train and test
 * counts, or its total to be split by `trainRatio` (PFLlib's layout: counts before its split).
 */
export type ClientLabelCounts =
  | { readonly train: readonly number[]; readonly test: readonly number[] }
  | { readonly total: readonly number[] };

export interface LabelCountsOptions {
  readonly seed: number;
  readonly clients: readonly ClientLabelCounts[];
  /**
   * For `total` counts: a client with n samples trains on ⌊n·trainRatio⌋ of them, shuffled, and
   * tests on the rest (scikit-learn's train_test_split rounding, which PFLlib uses). Default 0.75.
   */
  readonly trainRatio?: number;
  /**
   * The data set's own train/test files as the split: train counts are drawn from samples
   * 0..datasetTrainSamples−1, test counts from the rest. Needs train and test counts.
   */
  readonly datasetTrainSamples?: number;
}

export const DEFAULT_TRAIN_RATIO = 0.75;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** One class-by-class source of samples, shuffled, with how many of each class are dealt out. */
interface ClassPool {
  /** for errors: "the data set holds", "the data set's train files hold" */
  readonly source: string;
  readonly byClass: Uint32Array[];
  readonly taken: Uint32Array;
}

/** ⌊n·trainRatio⌋ with no slack: the same float rounding as scikit-learn's train_test_split(train_size=…). */
const trainCountOf = (n: number, trainRatio: number): number => Math.floor(n * trainRatio);

const entriesOf = (client: ClientLabelCounts): ['train' | 'test' | 'total', readonly number[]][] =>
  'total' in client ? [['total', client.total]] : [['train', client.train], ['test', client.test]];

/**
 * Draws every client's samples to match the given per-class counts exactly: each class's samples
 * are shuffled (seeded) and dealt out in client order, so no sample is used twice. Fails, naming
 * the class, when the clients ask for more samples of a class than the data set holds.
 */
export function labelCountsPartition(labels: Uint8Array, numClasses: number, opts: LabelCountsOptions): Partition {
  const what = 'label-counts partition';
  const { clients, seed, datasetTrainSamples } = opts;
  const trainRatio = opts.trainRatio ?? DEFAULT_TRAIN_RATIO;
  if (clients.length === 0) throw new PartitionError(`${what}: the file lists no clients`);
  if (!Number.isInteger(seed)) throw new PartitionError(`${what}: seed must be an integer, got ${seed}`);
  if (!(trainRatio > 0 && trainRatio <= 1)) throw new PartitionError(`${what}: trainRatio must be in (0, 1], got ${trainRatio}`);
  clients.forEach((c, j) => checkClient(what, c, j, numClasses, trainRatio, datasetTrainSamples !== undefined));

  const rng = Rng.derive(seed, 'partition', 'label-counts');
  const pool = (from: number, to: number, source: string): ClassPool => ({
    source,
    byClass: indicesByLabel(labels.subarray(from, to), numClasses).map((ix) => rng.shuffle(ix.map((i) => i + from))),
    taken: new Uint32Array(numClasses),
  });
  // The pooled data set serves both splits; with the data set's own split, its train and test files apart.
  let trainPool: ClassPool;
  let testPool: ClassPool;
  if (datasetTrainSamples === undefined) {
    trainPool = testPool = pool(0, labels.length, 'the data set holds');
  } else {
    trainPool = pool(0, datasetTrainSamples, "the data set's train files hold");
    testPool = pool(datasetTrainSamples, labels.length, "the data set's test files hold");
  }
  const poolOf = { train: trainPool, test: testPool, total: trainPool };

  // Checked before dealing, so the error gives the whole shortfall of a class.
  for (const p of new Set([poolOf.train, poolOf.test])) {
    for (let c = 0; c < numClasses; c++) {
      let demand = 0;
      for (const client of clients) {
        for (const [split, counts] of entriesOf(client)) if (poolOf[split] === p) demand += counts[c]!;
      }
      const have = p.byClass[c]!.length;
      if (demand > have) {
        throw new PartitionError(`${what}: the clients ask for ${demand} samples of class ${c}, but ${p.source} ${have}; the counts were made for another data set`);
      }
    }
  }

  const deal = (p: ClassPool, counts: readonly number[]): Uint32Array => {
    const out = new Uint32Array(sum(counts));
    let at = 0;
    for (let c = 0; c < numClasses; c++) {
      const from = p.taken[c]!;
      out.set(p.byClass[c]!.subarray(from, from + counts[c]!), at);
      p.taken[c] = from + counts[c]!;
      at += counts[c]!;
    }
    return out;
  };
  const out = clients.map((client, j) => {
    const splitRng = Rng.derive(seed, 'partition', 'split', j);
    if ('total' in client) {
      const mine = splitRng.shuffle(deal(poolOf.total, client.total));
      const nTrain = trainCountOf(mine.length, trainRatio);
      return { train: mine.slice(0, nTrain), test: mine.slice(nTrain) };
    }
    return { train: splitRng.shuffle(deal(poolOf.train, client.train)), test: splitRng.shuffle(deal(poolOf.test, client.test)) };
  });
  return { numClients: out.length, clients: out };
}

function checkClient(what: string, client: ClientLabelCounts, j: number, numClasses: number, trainRatio: number, datasetSplit: boolean): void {
  if ('total' in client && datasetSplit) {
    throw new PartitionError(
      `${what}: client ${j} gives total counts only; with partition.testSplit 'dataset' every client needs separate train and test counts`,
    );
  }
  for (const [split, counts] of entriesOf(client)) {
    if (counts.length !== numClasses) {
      throw new PartitionError(`${what}: client ${j} has ${counts.length} ${split} counts, the data set has ${numClasses} classes`);
    }
    counts.forEach((n, c) => {
      if (!(Number.isInteger(n) && n >= 0)) throw new PartitionError(`${what}: client ${j} ${split} count of class ${c} is ${n}; counts are whole numbers ≥ 0`);
    });
  }
  const nTrain = 'total' in client ? trainCountOf(sum(client.total), trainRatio) : sum(client.train);
  if (nTrain === 0) throw new PartitionError(`${what}: client ${j} gets no train samples; every client needs some`);
}

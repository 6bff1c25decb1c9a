import { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import { indicesByLabel } from './common.js';

/**
 * The data set's own train/test files as the split. `drawTrain` partitions the train files'
 * labels (samples 0..trainSamples−1) with no test split; the test files' samples of each class
 * are then shared out over the clients in proportion to how many train samples of that class
 * each holds (largest remainder, ties to the lower client id), so a client's test labels follow
 * its train labels. Test samples of a class no client trains on stay unused.
 */
export function withDatasetTestSplit(
  labels: Uint8Array,
  numClasses: number,
  trainSamples: number,
  seed: number,
  drawTrain: (trainLabels: Uint8Array) => Partition,
): Partition {
  if (!(Number.isInteger(trainSamples) && trainSamples > 0 && trainSamples < labels.length)) {
    throw new PartitionError(`testSplit 'dataset': the train files must hold 1..${labels.length - 1} of the ${labels.length} samples, got ${trainSamples}`);
  }
  const drawn = drawTrain(labels.subarray(0, trainSamples));
  const n = drawn.numClients;
  const trainCounts = drawn.clients.map((c) => {
    const counts = new Uint32Array(numClasses);
    for (const i of c.train) counts[labels[i]!]!++;
    return counts;
  });
  const rng = Rng.derive(seed, 'partition', 'dataset-test');
  const testByClass = indicesByLabel(labels.subarray(trainSamples), numClasses).map((ix) => rng.shuffle(ix.map((i) => i + trainSamples)));
  const tests: number[][] = Array.from({ length: n }, () => []);
  for (let c = 0; c < numClasses; c++) {
    const pool = testByClass[c]!;
    const shares = largestRemainder(pool.length, trainCounts.map((counts) => counts[c]!));
    let at = 0;
    shares.forEach((k, j) => {
      for (const i of pool.subarray(at, at + k)) tests[j]!.push(i);
      at += k;
    });
  }
  return {
    numClients: n,
    clients: drawn.clients.map((c, j) => ({
      train: c.train,
      test: Rng.derive(seed, 'partition', 'dataset-test', j).shuffle(Uint32Array.from(tests[j]!)),
    })),
  };
}

/** Splits `total` items in proportion to `weights` (all zero: nothing is handed out). */
function largestRemainder(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (w * total) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, j) => ({ j, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.j - b.j);
  for (let k = 0; left > 0; k++, left--) shares[order[k]!.j]!++;
  return shares;
}

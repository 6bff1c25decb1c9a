import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';

/** One client's sample indices over the pooled data set, as another framework wrote them. */
export interface ClientIndices {
  readonly train: ArrayLike<number>;
  readonly test: ArrayLike<number>;
}

export interface IndicesOptions {
  readonly clients: readonly ClientIndices[];
  /** a sample may appear in several places (some frameworks sample with replacement) */
  readonly allowOverlap?: boolean;
  /**
   * The data set's own train/test files as the split: train indices must lie in
   * 0..datasetTrainSamples−1, test indices at or after it.
   */
  readonly datasetTrainSamples?: number;
}

const SPLITS = ['train', 'test'] as const;

/**
 * A partition given index by index: the run uses exactly these lists, in this order. Every index
 * must name a sample, no sample may appear twice (unless `allowOverlap`), and every client needs
 * train samples. Errors name the client, the list and the position.
 */
export function indicesPartition(numSamples: number, opts: IndicesOptions): Partition {
  const what = 'indices partition';
  const { clients, allowOverlap = false, datasetTrainSamples } = opts;
  if (clients.length === 0) throw new PartitionError(`${what}: the file lists no clients`);
  // Where each sample was first seen, as client·2 + split and the position in that list.
  const firstOwner = allowOverlap ? null : new Int32Array(numSamples).fill(-1);
  const firstAt = allowOverlap ? null : new Uint32Array(numSamples);
  const where = (owner: number, at: number) => `client ${owner >> 1} ${SPLITS[owner & 1]}[${at}]`;

  const out = clients.map((client, j) => {
    if (client.train.length === 0) {
      throw new PartitionError(`${what}: client ${j} has no train samples${client.test.length === 0 ? ' (and no test samples)' : ''}; every client needs some`);
    }
    const lists = SPLITS.map((split, s) => {
      const given = client[split];
      const ix = new Uint32Array(given.length);
      for (let k = 0; k < given.length; k++) {
        const i = given[k]!;
        if (!(Number.isInteger(i) && i >= 0 && i < numSamples)) {
          throw new PartitionError(`${what}: ${where(2 * j + s, k)} = ${i} is not a sample index; the data set has samples 0..${numSamples - 1}`);
        }
        if (datasetTrainSamples !== undefined && (split === 'train') !== i < datasetTrainSamples) {
          throw new PartitionError(
            `${what}: ${where(2 * j + s, k)} = ${i} lies in the data set's ${split === 'train' ? 'test' : 'train'} files ` +
              `(train files hold samples 0..${datasetTrainSamples - 1}), but partition.testSplit is 'dataset'`,
          );
        }
        if (firstOwner && firstAt) {
          const prev = firstOwner[i]!;
          if (prev >= 0) {
            throw new PartitionError(
              `${what}: sample ${i} is listed twice, at ${where(prev, firstAt[i]!)} and at ${where(2 * j + s, k)}; ` +
                `a file that means this must say "allowOverlap": true`,
            );
          }
          firstOwner[i] = 2 * j + s;
          firstAt[i] = k;
        }
        ix[k] = i;
      }
      return ix;
    });
    return { train: lists[0]!, test: lists[1]! };
  });
  return { numClients: out.length, clients: out };
}

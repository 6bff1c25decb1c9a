import { Rng } from '../../util/rng.js';
import type { Partition } from '../types.js';
import type { PartitionOptionsBase } from './common.js';
import { checkCommon, splitShuffled } from './common.js';

export type IidOptions = PartitionOptionsBase;

/** Uniform random split into N near-equal parts (sizes differ by at most one). */
export function iidPartition(labels: Uint8Array, numClasses: number, opts: IidOptions): Partition {
  const testRatio = checkCommon('iid partition', labels, numClasses, opts);
  const { numClients: n, seed } = opts;
  const all = Rng.derive(seed, 'partition', 'iid').shuffle(Uint32Array.from(labels.keys()));
  const clients = Array.from({ length: n }, (_, j) => {
    const mine = all.subarray(Math.floor((j * all.length) / n), Math.floor(((j + 1) * all.length) / n));
    return splitShuffled(mine, testRatio, Rng.derive(seed, 'partition', 'split', j));
  });
  return { numClients: n, clients };
}

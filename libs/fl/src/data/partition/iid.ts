import { Rng } from '../../util/rng.js';
import type { Partition } from '../types.js';
import type { PartitionOptionsBase } from './common.js';
import { checkCommon, splitShuffledInPlace } from './common.js';

export type IidOptions = PartitionOptionsBase;

/** Uniform random split into N near-equal parts (sizes differ by at most one). */
export function iidPartition(labels: Uint8Array, numClasses: number, opts: IidOptions): Partition {
  const testRatio = checkCommon('iid partition', labels, numClasses, opts);
  const { numClients: n, seed } = opts;
  const all = Rng.derive(seed, 'partition', 'iid').shuffle(ascending(labels.length));
  // Each client's test and train are views of its own stretch of `all`, shuffled in place: the
  // indices splitShuffled would copy out, without two buffers per client (100k clients: ~150 MB).
  const clients = Array.from({ length: n }, (_, j) => {
    const mine = all.subarray(Math.floor((j * all.length) / n), Math.floor(((j + 1) * all.length) / n));
    return splitShuffledInPlace(mine, testRatio, Rng.derive(seed, 'partition', 'split', j));
  });
  return { numClients: n, clients };
}

/** 0..n−1, filled without an iterator (Uint32Array.from(keys()) builds an n-element array first). */
function ascending(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

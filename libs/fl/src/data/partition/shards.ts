import { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import type { PartitionOptionsBase } from './common.js';
import { checkCommon, indicesByLabel, splitStratified } from './common.js';

export interface ShardOptions extends PartitionOptionsBase {
  /** s: shards (so at most s labels) per client */
  readonly shardsPerClient: number;
}

/**
 * Pathological non-IID split (McMahan et al.): samples sorted by label are cut into s·N shards and
 * every client gets s of them at random. Shards never straddle two labels (each label's samples
 * are cut into a number of shards proportional to its size), so a client sees at most s labels
 * even when label counts do not divide evenly. The test split is stratified by label, so a client's
 * test labels are among its train labels.
 */
export function shardPartition(labels: Uint8Array, numClasses: number, opts: ShardOptions): Partition {
  const what = 'shard partition';
  const testRatio = checkCommon(what, labels, numClasses, opts);
  const { numClients: n, shardsPerClient: s, seed } = opts;
  if (!Number.isInteger(s) || s < 1) throw new PartitionError(`${what}: shardsPerClient must be a positive integer, got ${s}`);
  const numShards = n * s;
  if (numShards > labels.length) {
    throw new PartitionError(`${what}: ${n} clients × ${s} shards = ${numShards} shards exceeds the ${labels.length} samples; lower shardsPerClient or numClients`);
  }
  const byLabel = indicesByLabel(labels, numClasses).filter((ix) => ix.length > 0);
  if (numShards < byLabel.length) {
    throw new PartitionError(
      `${what}: ${numShards} shards cannot cover the ${byLabel.length} labels present without mixing labels in a shard; raise shardsPerClient or numClients`,
    );
  }
  const perLabel = allocateShards(byLabel.map((ix) => ix.length), numShards);

  const rng = Rng.derive(seed, 'partition', 'shards');
  const shards: Uint32Array[] = [];
  byLabel.forEach((ix, k) => {
    const idx = rng.shuffle(Uint32Array.from(ix));
    const m = perLabel[k]!;
    for (let t = 0; t < m; t++) {
      shards.push(idx.subarray(Math.floor((t * idx.length) / m), Math.floor(((t + 1) * idx.length) / m)));
    }
  });
  const order = rng.shuffle(Array.from(shards.keys()));
  const clients = Array.from({ length: n }, (_, j) => {
    const mine = order.slice(j * s, (j + 1) * s).map((t) => shards[t]!);
    const all = new Uint32Array(mine.reduce((a, x) => a + x.length, 0));
    let at = 0;
    for (const x of mine) {
      all.set(x, at);
      at += x.length;
    }
    return splitStratified(all, labels, testRatio, Rng.derive(seed, 'partition', 'split', j));
  });
  return { numClients: n, clients };
}

/**
 * Splits `total` shards over labels proportionally to their counts (largest remainder), at least
 * one and at most `count` per label.
 */
function allocateShards(counts: readonly number[], total: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const target = counts.map((c) => (c * total) / n);
  const alloc = target.map((t, k) => Math.min(counts[k]!, Math.max(1, Math.floor(t))));
  let sum = alloc.reduce((a, b) => a + b, 0);
  while (sum < total) {
    let best = -1;
    for (let k = 0; k < alloc.length; k++) {
      if (alloc[k]! >= counts[k]!) continue;
      if (best < 0 || target[k]! - alloc[k]! > target[best]! - alloc[best]!) best = k;
    }
    alloc[best]!++;
    sum++;
  }
  while (sum > total) {
    let best = -1;
    for (let k = 0; k < alloc.length; k++) {
      if (alloc[k]! <= 1) continue;
      if (best < 0 || target[k]! - alloc[k]! < target[best]! - alloc[best]!) best = k;
    }
    alloc[best]!--;
    sum--;
  }
  return alloc;
}

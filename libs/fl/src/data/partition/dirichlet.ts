import { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import type { PartitionOptionsBase } from './common.js';
import { checkCommon, indicesByLabel, splitShuffled } from './common.js';

export interface DirichletOptions extends PartitionOptionsBase {
  /** concentration; smaller is more skewed (reference 0.1 and 0.5) */
  readonly alpha: number;
  /** redraw everything until every client has at least this many samples (default 10) */
  readonly minSamples?: number;
  /** give up after this many draws (default 1000) */
  readonly maxDraws?: number;
  /**
   * FL-bench's variant: while dealing a label, clients already holding ≥ total/N samples get no
   * more. Off by default (docs/specs/protocol.md describes the plain scheme).
   */
  readonly capAtMean?: boolean;
}

export const DEFAULT_MIN_SAMPLES = 10;
export const DEFAULT_MAX_DRAWS = 1000;

/**
 * docs/specs/protocol.md's reference partition: for each label, proportions p ~ Dir(α·1_N) over the clients;
 * the label's shuffled samples are cut at the cumulative proportions. Redraw all labels until every
 * client has ≥ minSamples, then split each client into train/test.
 */
export function dirichletPartition(labels: Uint8Array, numClasses: number, opts: DirichletOptions): Partition {
  const what = 'dirichlet partition';
  const testRatio = checkCommon(what, labels, numClasses, opts);
  const { numClients: n, alpha, seed } = opts;
  const minSamples = opts.minSamples ?? DEFAULT_MIN_SAMPLES;
  const maxDraws = opts.maxDraws ?? DEFAULT_MAX_DRAWS;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new PartitionError(`${what}: alpha must be > 0, got ${alpha}`);
  if (!Number.isInteger(minSamples) || minSamples < 0) {
    throw new PartitionError(`${what}: minSamples must be a non-negative integer, got ${minSamples}`);
  }
  if (!Number.isInteger(maxDraws) || maxDraws < 1) throw new PartitionError(`${what}: maxDraws must be ≥ 1, got ${maxDraws}`);
  if (n * minSamples > labels.length) {
    throw new PartitionError(
      `${what}: ${n} clients × minSamples ${minSamples} = ${n * minSamples} exceeds the ${labels.length} samples; lower minSamples or numClients`,
    );
  }

  const byLabel = indicesByLabel(labels, numClasses).filter((ix) => ix.length > 0);
  const total = labels.length;
  const rng = Rng.derive(seed, 'partition', 'dirichlet');
  const sizes = new Uint32Array(n);
  // Each label's dealt samples: client j holds shuffled[label][cuts[j] .. cuts[j+1]).
  const cuts = byLabel.map(() => new Uint32Array(n + 1));
  const shuffled = byLabel.map((ix) => Uint32Array.from(ix));
  let smallest = 0;
  for (let draw = 1; draw <= maxDraws; draw++) {
    sizes.fill(0);
    for (let k = 0; k < byLabel.length; k++) {
      const idx = rng.shuffle(shuffled[k]!);
      const p = rng.dirichlet(alpha, n);
      if (opts.capAtMean) capProportions(p, sizes, total / n);
      const cut = cuts[k]!;
      let cum = 0;
      cut[0] = 0;
      for (let j = 0; j < n - 1; j++) {
        cum += p[j]!;
        cut[j + 1] = Math.min(idx.length, Math.max(cut[j]!, Math.floor(cum * idx.length)));
      }
      cut[n] = idx.length;
      for (let j = 0; j < n; j++) sizes[j]! += cut[j + 1]! - cut[j]!;
    }
    smallest = sizes.reduce((a, b) => Math.min(a, b), Infinity);
    if (smallest >= minSamples) {
      const clients = Array.from({ length: n }, (_, j) => {
        const mine = new Uint32Array(sizes[j]!);
        let at = 0;
        for (let k = 0; k < byLabel.length; k++) {
          const seg = shuffled[k]!.subarray(cuts[k]![j]!, cuts[k]![j + 1]!);
          mine.set(seg, at);
          at += seg.length;
        }
        return splitShuffled(mine, testRatio, Rng.derive(seed, 'partition', 'split', j));
      });
      return { numClients: n, clients };
    }
  }
  throw new PartitionError(
    `${what}: no draw in ${maxDraws} gave every one of ${n} clients at least ${minSamples} samples (the last draw's smallest client had ${smallest}); ` +
      `raise alpha (now ${alpha}), lower minSamples or numClients, or raise maxDraws`,
  );
}

/** Zeroes the share of clients already at or above the mean size, then renormalises. */
function capProportions(p: Float64Array, sizes: Uint32Array, mean: number): void {
  let sum = 0;
  let eligible = 0;
  for (let j = 0; j < p.length; j++) {
    if (sizes[j]! >= mean) p[j] = 0;
    else eligible++;
    sum += p[j]!;
  }
  if (sum > 0) {
    for (let j = 0; j < p.length; j++) p[j]! /= sum;
  } else {
    // Every eligible client's share underflowed (tiny alpha): spread evenly over them.
    for (let j = 0; j < p.length; j++) p[j] = sizes[j]! < mean ? 1 / eligible : 0;
  }
}

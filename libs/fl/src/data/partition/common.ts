import type { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';

export interface PartitionOptionsBase {
  readonly numClients: number;
  readonly seed: number;
  /** fraction of each client's samples held out as its test split (default 0.25) */
  readonly testRatio?: number;
}

export const DEFAULT_TEST_RATIO = 0.25;

export type ClientSplit = { readonly train: Uint32Array; readonly test: Uint32Array };

/** Checks the settings every partitioner shares; returns the test ratio to use. */
export function checkCommon(what: string, labels: Uint8Array, numClasses: number, opts: PartitionOptionsBase): number {
  const { numClients, seed } = opts;
  const testRatio = opts.testRatio ?? DEFAULT_TEST_RATIO;
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new PartitionError(`${what}: numClients must be a positive integer, got ${numClients}`);
  }
  if (!Number.isInteger(seed)) throw new PartitionError(`${what}: seed must be an integer, got ${seed}`);
  if (!(testRatio >= 0 && testRatio < 1)) throw new PartitionError(`${what}: testRatio must be in [0, 1), got ${testRatio}`);
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new PartitionError(`${what}: numClasses must be an integer in 1..256, got ${numClasses}`);
  }
  if (numClients > labels.length) {
    throw new PartitionError(`${what}: ${numClients} clients but only ${labels.length} samples; lower numClients`);
  }
  return testRatio;
}

/** Sample indices of every label, ascending. */
export function indicesByLabel(labels: Uint8Array, numClasses: number): Uint32Array[] {
  const counts = new Uint32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y >= numClasses) throw new PartitionError(`sample ${i} has label ${y}, but numClasses is ${numClasses}`);
    counts[y]!++;
  }
  const out = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    out[y]![fill[y]!++] = i;
  }
  return out;
}

/** ⌊n·r⌋ with a little slack so 0.29·100 counts as 29, not 28. */
export function testCount(n: number, testRatio: number): number {
  return Math.min(n, Math.floor(n * testRatio + 1e-9));
}

/** Shuffles a client's samples and cuts off its test split (docs/specs/protocol.md: per client, shuffled). */
export function splitShuffled(samples: Uint32Array, testRatio: number, rng: Rng): ClientSplit {
  const s = rng.shuffle(Uint32Array.from(samples));
  const nTest = testCount(s.length, testRatio);
  return { test: s.slice(0, nTest), train: s.slice(nTest) };
}

/** splitShuffled's split, shuffling `samples` itself: the splits are views of it, not copies. */
export function splitShuffledInPlace(samples: Uint32Array, testRatio: number, rng: Rng): ClientSplit {
  const s = rng.shuffle(samples);
  const nTest = testCount(s.length, testRatio);
  return { test: s.subarray(0, nTest), train: s.subarray(nTest) };
}

/**
 * Shuffled split done per label, so every label in the test split also appears in the train split
 * (a label with a single sample stays in train).
 */
export function splitStratified(samples: Uint32Array, labels: Uint8Array, testRatio: number, rng: Rng): ClientSplit {
  const s = rng.shuffle(Uint32Array.from(samples));
  const byLabel = new Map<number, number[]>();
  for (const i of s) {
    const y = labels[i]!;
    let list = byLabel.get(y);
    if (!list) byLabel.set(y, (list = []));
    list.push(i);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const y of [...byLabel.keys()].sort((a, b) => a - b)) {
    const list = byLabel.get(y)!;
    const nTest = testCount(list.length, testRatio);
    for (let k = 0; k < list.length; k++) (k < nTest ? test : train).push(list[k]!);
  }
  return { train: rng.shuffle(Uint32Array.from(train)), test: rng.shuffle(Uint32Array.from(test)) };
}

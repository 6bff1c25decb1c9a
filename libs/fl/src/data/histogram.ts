import { DataError } from './errors.js';
import type { Partition } from './types.js';

/** A type alias (not an interface) so it is assignable to a blob's JSON meta. */
export type ClientLabelHistogram = {
  /** count of each label 0..numClasses-1 in the client's train split */
  train: number[];
  test: number[];
};

/** Every client's label counts as two flat tables, row j = client j's count of each label. */
export interface LabelCountTable {
  readonly numClasses: number;
  readonly train: Uint32Array;
  readonly test: Uint32Array;
}

/**
 * labelHistograms as flat N × numClasses tables: what the partition manifest stores, a few bytes
 * per client where JSON histograms cost ~1 KB each to build and encode (90 MB at 100k clients).
 */
export function labelCountTable(partition: Partition, labels: Uint8Array, numClasses: number): LabelCountTable {
  const train = new Uint32Array(partition.numClients * numClasses);
  const test = new Uint32Array(partition.numClients * numClasses);
  const count = (ix: Uint32Array, out: Uint32Array, client: number, split: string) => {
    for (const i of ix) {
      const y = labels[i];
      if (y === undefined) throw new DataError(`client ${client} ${split} sample ${i} is outside the ${labels.length} labels`);
      if (y >= numClasses) throw new DataError(`sample ${i} has label ${y}, but numClasses is ${numClasses}`);
      out[client * numClasses + y]!++;
    }
  };
  partition.clients.forEach((c, j) => {
    count(c.train, train, j, 'train');
    count(c.test, test, j, 'test');
  });
  return { numClasses, train, test };
}

/** Per-client label counts (docs/specs/protocol.md: report per-client label histograms). */
export function labelHistograms(partition: Partition, labels: Uint8Array, numClasses: number): ClientLabelHistogram[] {
  const count = (ix: Uint32Array, client: number, split: string): number[] => {
    const h = new Array<number>(numClasses).fill(0);
    for (const i of ix) {
      const y = labels[i];
      if (y === undefined) throw new DataError(`client ${client} ${split} sample ${i} is outside the ${labels.length} labels`);
      if (y >= numClasses) throw new DataError(`sample ${i} has label ${y}, but numClasses is ${numClasses}`);
      h[y]!++;
    }
    return h;
  };
  return partition.clients.map((c, j) => ({ train: count(c.train, j, 'train'), test: count(c.test, j, 'test') }));
}

export interface SizeSummary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly mean: number;
  readonly total: number;
}

function summarise(values: number[]): SizeSummary {
  const s = [...values].sort((a, b) => a - b);
  const total = s.reduce((a, b) => a + b, 0);
  if (s.length === 0) return { min: 0, median: 0, max: 0, mean: 0, total: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]!, mean: total / s.length, total };
}

export interface PartitionSummary {
  readonly numClients: number;
  /** train + test samples per client */
  readonly samples: SizeSummary;
  readonly train: SizeSummary;
  readonly test: SizeSummary;
  /** number of distinct labels per client (train ∪ test), when labels are given */
  readonly labelsPerClient?: SizeSummary;
}

/** min/median/max/mean sizes over clients, for logs and run reports. */
export function summarizePartition(partition: Partition, labels?: Uint8Array): PartitionSummary {
  const c = partition.clients;
  const base = {
    numClients: partition.numClients,
    samples: summarise(c.map((x) => x.train.length + x.test.length)),
    train: summarise(c.map((x) => x.train.length)),
    test: summarise(c.map((x) => x.test.length)),
  };
  if (!labels) return base;
  const distinct = c.map((x) => {
    const seen = new Set<number>();
    for (const i of x.train) seen.add(labels[i]!);
    for (const i of x.test) seen.add(labels[i]!);
    return seen.size;
  });
  return { ...base, labelsPerClient: summarise(distinct) };
}

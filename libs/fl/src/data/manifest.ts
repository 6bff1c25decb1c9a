import type { JsonObject } from '../params/codec.js';
import { CodecError, blobArray, decodeBlob, encodeBlob } from '../params/codec.js';
import { DataError } from './errors.js';
import type { LabelCountTable } from './histogram.js';
import type { Partition } from './types.js';

export const PARTITION_KIND = 'partition';

/**
 * The partition as one blob: every client's train indices concatenated with an offsets table
 * (N+1 entries), the same for test. Written once per run so every worker sees the same split.
 * With `labelCounts`, the clients' label histograms ride along as two N × numClasses tables.
 */
export function encodePartition(partition: Partition, meta: JsonObject = {}, labelCounts?: LabelCountTable): Uint8Array {
  for (const reserved of ['numClients', 'numClasses']) {
    if (reserved in meta) throw new CodecError(`encodePartition: meta key '${reserved}' is reserved`);
  }
  if (labelCounts && (labelCounts.train.length !== partition.numClients * labelCounts.numClasses || labelCounts.test.length !== labelCounts.train.length)) {
    throw new DataError(`encodePartition: label count tables must have ${partition.numClients} × ${labelCounts.numClasses} entries`);
  }
  if (partition.clients.length !== partition.numClients) {
    throw new DataError(`encodePartition: numClients is ${partition.numClients} but ${partition.clients.length} clients are listed`);
  }
  const pack = (pick: (c: Partition['clients'][number]) => Uint32Array) => {
    const offsets = new Uint32Array(partition.numClients + 1);
    partition.clients.forEach((c, j) => (offsets[j + 1] = offsets[j]! + pick(c).length));
    const indices = new Uint32Array(offsets[partition.numClients]!);
    partition.clients.forEach((c, j) => indices.set(pick(c), offsets[j]!));
    return { offsets, indices };
  };
  const train = pack((c) => c.train);
  const test = pack((c) => c.test);
  return encodeBlob({
    kind: PARTITION_KIND,
    meta: { ...meta, numClients: partition.numClients, ...(labelCounts ? { numClasses: labelCounts.numClasses } : {}) },
    arrays: {
      trainOffsets: train.offsets,
      trainIndices: train.indices,
      testOffsets: test.offsets,
      testIndices: test.indices,
      ...(labelCounts ? { trainLabelCounts: labelCounts.train, testLabelCounts: labelCounts.test } : {}),
    },
  });
}

export interface DecodedPartition {
  readonly partition: Partition;
  /** the caller's meta, without `numClients` and `numClasses` */
  readonly meta: JsonObject;
  /** the clients' label histograms, when they were encoded */
  readonly labelCounts?: LabelCountTable;
}

export function decodePartition(bytes: Uint8Array): DecodedPartition {
  const blob = decodeBlob(bytes, PARTITION_KIND);
  const { numClients, numClasses, ...meta } = blob.meta;
  if (typeof numClients !== 'number' || !Number.isInteger(numClients) || numClients < 0) {
    throw new CodecError(`partition manifest: meta.numClients must be a non-negative integer, got ${JSON.stringify(numClients)}`);
  }
  const unpack = (split: 'train' | 'test'): Uint32Array[] => {
    const offsets = blobArray(blob, `${split}Offsets`, Uint32Array);
    const indices = blobArray(blob, `${split}Indices`, Uint32Array);
    if (offsets.length !== numClients + 1) {
      throw new CodecError(`partition manifest: ${split}Offsets has ${offsets.length} entries, ${numClients} clients need ${numClients + 1}`);
    }
    if (offsets[0] !== 0 || offsets[numClients] !== indices.length) {
      throw new CodecError(`partition manifest: ${split}Offsets must run from 0 to ${indices.length}, runs ${offsets[0]} to ${offsets[numClients]}`);
    }
    const out: Uint32Array[] = [];
    for (let j = 0; j < numClients; j++) {
      if (offsets[j + 1]! < offsets[j]!) throw new CodecError(`partition manifest: ${split}Offsets decreases at client ${j}`);
      out.push(indices.subarray(offsets[j]!, offsets[j + 1]!));
    }
    return out;
  };
  const train = unpack('train');
  const test = unpack('test');
  const partition = { numClients, clients: train.map((t, j) => ({ train: t, test: test[j]! })) };
  if (numClasses === undefined) return { partition, meta };
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new CodecError(`partition manifest: meta.numClasses must be a positive integer, got ${JSON.stringify(numClasses)}`);
  }
  const labelCounts = { numClasses, train: blobArray(blob, 'trainLabelCounts', Uint32Array), test: blobArray(blob, 'testLabelCounts', Uint32Array) };
  if (labelCounts.train.length !== numClients * numClasses || labelCounts.test.length !== numClients * numClasses) {
    throw new CodecError(`partition manifest: label count tables must have ${numClients} × ${numClasses} entries`);
  }
  return { partition, meta, labelCounts };
}

/**
 * Checks a partition against the data set it is meant for: every index in range and no sample in
 * two places. Returns the number of samples used (a balanced split may leave a remainder out).
 */
export function validatePartition(partition: Partition, numSamples: number): number {
  const seen = new Uint8Array(numSamples);
  let used = 0;
  partition.clients.forEach((c, j) => {
    for (const [split, ix] of [['train', c.train], ['test', c.test]] as const) {
      for (const i of ix) {
        if (i >= numSamples) {
          throw new DataError(`partition: client ${j} ${split} holds sample ${i}, but the data set has ${numSamples}; the manifest was made for another data set`);
        }
        if (seen[i]) throw new DataError(`partition: sample ${i} is assigned twice (again to client ${j} ${split})`);
        seen[i] = 1;
        used++;
      }
    }
  });
  return used;
}

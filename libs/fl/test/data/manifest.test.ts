import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePartition, dirichletPartition, encodePartition, labelCountTable, labelHistograms } from '../../src/data/index.js';
import type { Partition } from '../../src/data/index.js';
import { CodecError, decodeBlob, encodeBlob } from '../../src/params/codec.js';
import { Rng } from '../../src/util/rng.js';

const labels = Rng.derive(1, 'labels').shuffle(Uint8Array.from({ length: 2000 }, (_, i) => i % 10));

test('partition manifest round-trips, with the caller meta (histograms included)', () => {
  const p = dirichletPartition(labels, 10, { numClients: 20, seed: 4, alpha: 0.5 });
  const histograms = labelHistograms(p, labels, 10);
  const bytes = encodePartition(p, { runId: 'r1', histograms });
  const out = decodePartition(bytes);
  assert.equal(out.partition.numClients, 20);
  assert.deepEqual(out.meta, { runId: 'r1', histograms });
  assert.equal(out.labelCounts, undefined);
  out.partition.clients.forEach((c, j) => {
    assert.deepEqual(Array.from(c.train), Array.from(p.clients[j]!.train));
    assert.deepEqual(Array.from(c.test), Array.from(p.clients[j]!.test));
  });
});

test('label count tables ride along with the partition: row j is client j\'s histogram', () => {
  const p = dirichletPartition(labels, 10, { numClients: 20, seed: 4, alpha: 0.5 });
  const out = decodePartition(encodePartition(p, { runId: 'r1' }, labelCountTable(p, labels, 10)));
  assert.deepEqual(out.meta, { runId: 'r1' });
  const histograms = labelHistograms(p, labels, 10);
  const row = (t: Uint32Array, j: number) => Array.from(t.subarray(j * 10, (j + 1) * 10));
  histograms.forEach((h, j) => {
    assert.deepEqual(row(out.labelCounts!.train, j), h.train);
    assert.deepEqual(row(out.labelCounts!.test, j), h.test);
  });
});

test('clients with empty splits and a partition of zero clients round-trip', () => {
  const p: Partition = {
    numClients: 3,
    clients: [
      { train: new Uint32Array(0), test: new Uint32Array(0) },
      { train: Uint32Array.from([4, 2]), test: new Uint32Array(0) },
      { train: new Uint32Array(0), test: Uint32Array.from([9]) },
    ],
  };
  const out = decodePartition(encodePartition(p)).partition;
  assert.deepEqual(out.clients.map((c) => [Array.from(c.train), Array.from(c.test)]), [[[], []], [[4, 2], []], [[], [9]]]);
  assert.equal(decodePartition(encodePartition({ numClients: 0, clients: [] })).partition.clients.length, 0);
});

test('malformed manifests are rejected', () => {
  assert.throws(() => decodePartition(encodeBlob({ kind: 'params', meta: {}, arrays: {} })), /wrong kind: expected 'partition'/);
  const good = encodePartition({ numClients: 1, clients: [{ train: Uint32Array.from([1]), test: new Uint32Array(0) }] });
  const blob = decodeBlob(good);
  const rebuild = (patch: Record<string, Uint32Array>, meta = blob.meta) =>
    encodeBlob({ kind: 'partition', meta, arrays: { ...blob.arrays, ...patch } });
  assert.throws(() => decodePartition(rebuild({ trainOffsets: Uint32Array.from([0, 1, 1]) })), /trainOffsets has 3 entries, 1 clients need 2/);
  assert.throws(() => decodePartition(rebuild({ trainOffsets: Uint32Array.from([0, 2]) })), /trainOffsets must run from 0 to 1, runs 0 to 2/);
  assert.throws(() => decodePartition(rebuild({}, { numClients: 'x' })), /meta\.numClients must be a non-negative integer/);
  const missing = encodeBlob({ kind: 'partition', meta: { numClients: 1 }, arrays: { trainOffsets: Uint32Array.from([0, 0]) } });
  assert.throws(() => decodePartition(missing), (e: unknown) => e instanceof CodecError && /no array 'trainIndices'/.test(e.message));
  assert.throws(() => encodePartition({ numClients: 2, clients: [] }), /numClients is 2 but 0 clients/);
  assert.throws(() => encodePartition({ numClients: 0, clients: [] }, { numClients: 3 }), /reserved/);
});

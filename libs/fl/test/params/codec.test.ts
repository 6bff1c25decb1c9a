import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import type { BlobArray, DecodedBlob } from '../../src/params/codec.js';
import {
  CodecError,
  blobArray,
  decodeBlob,
  decodeParams,
  encodeBlob,
  encodeParams,
} from '../../src/params/codec.js';
import { makeSpec } from '../../src/params/spec.js';

function sample(): DecodedBlob {
  return {
    kind: 'update',
    meta: { round: 3, client: 'c-7', nested: { ok: true, list: [1, 'a', null] } },
    arrays: {
      w: Float32Array.from([1.5, -2.25, Number.NaN, Infinity, -0, 3.4e38]),
      idx: Uint32Array.from([0, 1, 0xffffffff]),
      signed: Int32Array.from([-2147483648, 0, 2147483647]),
      mask: Uint8Array.from([1, 0, 255, 7, 9]),
      empty: new Float32Array(0),
      emptyU8: new Uint8Array(0),
    },
  };
}

function assertSameArray(actual: BlobArray | undefined, expected: BlobArray): void {
  assert.ok(actual, 'array missing');
  assert.equal(actual.constructor, expected.constructor);
  assert.equal(actual.length, expected.length);
  // Byte-level comparison so NaN and -0 must survive exactly.
  assert.deepEqual(
    new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength),
    new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength),
  );
}

function assertRoundTrip(decoded: DecodedBlob, original: DecodedBlob): void {
  assert.equal(decoded.kind, original.kind);
  assert.deepEqual(decoded.meta, original.meta);
  assert.deepEqual(Object.keys(decoded.arrays).sort(), Object.keys(original.arrays).sort());
  for (const [name, arr] of Object.entries(original.arrays)) assertSameArray(decoded.arrays[name], arr);
}

/** Rewrites the CRC so a deliberately malformed blob passes the checksum and reaches the later checks. */
function resealed(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** Builds a blob from a raw manifest object (bypassing encodeBlob's checks). */
function craft(manifest: unknown, payloadBytes: number): Uint8Array {
  const m = new TextEncoder().encode(JSON.stringify(manifest));
  const start = Math.ceil((16 + m.length) / 8) * 8;
  const total = start + payloadBytes + 8;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode('FSIM'), 0);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, m.length, true);
  dv.setUint32(12, total, true);
  out.set(m, 16);
  dv.setUint32(total - 8, total, true);
  return resealed(out);
}

test('round trip of every dtype, including empty arrays and special floats', () => {
  const blob = sample();
  const bytes = encodeBlob(blob);
  assert.equal(bytes.length % 8, 0);
  assertRoundTrip(decodeBlob(bytes), blob);
  assertRoundTrip(decodeBlob(bytes, 'update'), blob);
});

test('a blob with no arrays and empty meta round-trips', () => {
  const blob: DecodedBlob = { kind: 'x', meta: {}, arrays: {} };
  assertRoundTrip(decodeBlob(encodeBlob(blob)), blob);
});

test('encoding reads only the viewed part of a subarray input', () => {
  const big = Float32Array.from({ length: 10 }, (_, i) => i);
  const blob: DecodedBlob = { kind: 'k', meta: {}, arrays: { part: big.subarray(3, 6) } };
  const out = decodeBlob(encodeBlob(blob));
  assert.deepEqual(Array.from(out.arrays.part!), [3, 4, 5]);
});

test('aligned input decodes to views of the input buffer (no copy)', () => {
  const bytes = encodeBlob(sample());
  const out = decodeBlob(bytes);
  assert.equal(out.arrays.w!.buffer, bytes.buffer);
  assert.equal(out.arrays.signed!.buffer, bytes.buffer);
});

test('unaligned input decodes correctly by copying', () => {
  const blob = sample();
  const bytes = encodeBlob(blob);
  for (const shift of [1, 2, 3, 5]) {
    const host = new Uint8Array(bytes.length + shift);
    host.set(bytes, shift);
    const unaligned = host.subarray(shift);
    const out = decodeBlob(unaligned);
    assertRoundTrip(out, blob);
    assert.notEqual(out.arrays.w!.buffer, host.buffer);
  }
});

test('encoding is deterministic', () => {
  assert.deepEqual(encodeBlob(sample()), encodeBlob(sample()));
});

test('truncation at any point throws CodecError', () => {
  const bytes = encodeBlob(sample());
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeBlob(bytes.subarray(0, n)), CodecError, `truncated to ${n} bytes`);
  }
  assert.throws(() => decodeBlob(bytes.subarray(0, bytes.length - 3)), /truncated: header says \d+ bytes, got \d+/);
});

test('trailing bytes are rejected', () => {
  const bytes = encodeBlob(sample());
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes);
  assert.throws(() => decodeBlob(longer), /wrong length/);
});

test('flipping any single byte (header, manifest, payload, padding, trailer) throws CodecError', () => {
  const bytes = encodeBlob(sample());
  for (let i = 0; i < bytes.length; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = bytes.slice();
      bad[i]! ^= mask;
      assert.throws(() => decodeBlob(bad), CodecError, `byte ${i} ^ ${mask}`);
    }
  }
});

test('each corruption is named in the message', () => {
  const bytes = encodeBlob(sample());
  const flip = (i: number): Uint8Array => {
    const b = bytes.slice();
    b[i]! ^= 0x10;
    return b;
  };
  assert.throws(() => decodeBlob(flip(0)), /wrong magic: expected 'FSIM'/);
  assert.throws(() => decodeBlob(flip(4)), /unsupported format version 17/);
  assert.throws(() => decodeBlob(flip(20)), /checksum: stored CRC32 [0-9a-f]{8}, computed [0-9a-f]{8}/);
  assert.throws(() => decodeBlob(flip(bytes.length - 20)), /checksum/);
  assert.throws(() => decodeBlob(flip(bytes.length - 8)), /trailer says \d+ bytes, header says \d+/);
  assert.throws(() => decodeBlob(flip(bytes.length - 1)), /checksum/);
  assert.throws(() => decodeBlob(new Uint8Array(40)), /wrong magic/);
});

test('wrong kind is rejected with expected and actual', () => {
  const bytes = encodeBlob(sample());
  assert.throws(() => decodeBlob(bytes, 'model'), /wrong kind: expected 'model', got 'update'/);
});

test('bad manifests that pass the checksum are rejected', () => {
  const okArray = { name: 'a', dtype: 'f32', length: 2, offset: 0 };
  const cases: [unknown, number, RegExp][] = [
    [{ kind: 'k', meta: {}, arrays: [{ ...okArray, dtype: 'f64' }] }, 8, /bad manifest: arrays\.0\.dtype/],
    [{ kind: '', meta: {}, arrays: [] }, 0, /bad manifest: kind/],
    [{ kind: 'k', arrays: [] }, 0, /bad manifest: meta/],
    [{ kind: 'k', meta: {}, arrays: [okArray, okArray] }, 16, /duplicate array 'a'/],
    [{ kind: 'k', meta: {}, arrays: [{ ...okArray, length: 3 }] }, 8, /'a' is out of bounds: bytes \[0, 12\) of a 8-byte payload/],
    [{ kind: 'k', meta: {}, arrays: [{ ...okArray, offset: 4 }] }, 16, /not 8-byte aligned/],
    [{ kind: 'k', meta: {}, arrays: [{ ...okArray, length: -1 }] }, 8, /bad manifest/],
    [
      { kind: 'k', meta: {}, arrays: [{ ...okArray, length: 4 }, { ...okArray, name: 'b', offset: 8 }] },
      24,
      /'a' and 'b' overlap/,
    ],
  ];
  for (const [manifest, payload, re] of cases) {
    assert.throws(() => decodeBlob(craft(manifest, payload)), (e: unknown) => e instanceof CodecError && re.test(e.message));
  }
  // non-JSON manifest text
  const bytes = craft({ kind: 'k', meta: {}, arrays: [] }, 0);
  bytes[16] = 0x7b ^ 0x01;
  assert.throws(() => decodeBlob(resealed(bytes)), /bad manifest/);
  // manifest length pointing past the payload end
  const long = craft({ kind: 'k', meta: {}, arrays: [] }, 0);
  new DataView(long.buffer).setUint32(8, 10_000, true);
  assert.throws(() => decodeBlob(resealed(long)), /bad manifest: length 10000 runs past/);
});

test('a crafted blob with a valid manifest decodes', () => {
  const bytes = craft({ kind: 'k', meta: { a: 1 }, arrays: [{ name: 'a', dtype: 'u8', length: 3, offset: 0 }] }, 8);
  const out = decodeBlob(bytes, 'k');
  assert.deepEqual(Array.from(out.arrays.a!), [0, 0, 0]);
});

test('encode rejects non-JSON meta and bad kinds', () => {
  assert.throws(() => encodeBlob({ kind: 'k', meta: { x: Number.NaN }, arrays: {} }), /meta is not plain JSON.*x/);
  assert.throws(() => encodeBlob({ kind: '', meta: {}, arrays: {} }), /kind must be a non-empty string/);
  assert.throws(
    () => encodeBlob({ kind: 'k', meta: {}, arrays: { a: new Float64Array(1) as unknown as Float32Array } }),
    /unsupported array type/,
  );
});

test('blobArray checks presence and dtype', () => {
  const blob = decodeBlob(encodeBlob(sample()));
  assert.equal(blobArray(blob, 'w', Float32Array).length, 6);
  assert.throws(() => blobArray(blob, 'nope', Float32Array), /no array 'nope'/);
  assert.throws(() => blobArray(blob, 'idx', Float32Array), /is Uint32Array, expected Float32Array/);
});

const spec = makeSpec([
  { name: 'fc.weight', layer: 'fc', layerType: 'dense', kind: 'weight', shape: [3, 2], role: 'body', fanIn: 3 },
  { name: 'fc.bias', layer: 'fc', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 3 },
]);

test('params blobs round-trip with the caller meta and reject another spec', () => {
  const values = Float32Array.from({ length: spec.size }, (_, i) => i * 0.5 - 1);
  const bytes = encodeParams(spec, values, { round: 4 });
  const out = decodeParams(bytes, spec);
  assert.deepEqual(Array.from(out.values), Array.from(values));
  assert.deepEqual(out.meta, { round: 4 });

  const other = makeSpec([
    { name: 'fc.weight', layer: 'fc', layerType: 'dense', kind: 'weight', shape: [2, 3], role: 'body', fanIn: 2 },
    { name: 'fc.bias', layer: 'fc', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 2 },
  ]);
  assert.throws(() => decodeParams(bytes, other), /different model: stored spec 'fc.weight:3x2,fc.bias:2', expected 'fc.weight:2x3/);
  assert.throws(() => decodeParams(bytes, spec, 'model'), /wrong kind/);
  assert.deepEqual(Array.from(decodeParams(encodeParams(spec, values, {}, 'model'), spec, 'model').values), Array.from(values));
});

test('params encode rejects a wrong-length vector and reserved meta; decode rejects a length mismatch', () => {
  assert.throws(() => encodeParams(spec, new Float32Array(3)), /3 elements, the spec needs 8/);
  assert.throws(() => encodeParams(spec, new Float32Array(8), { spec: 'x' }), /reserved/);
  const forged = encodeBlob({
    kind: 'params',
    meta: { spec: 'fc.weight:3x2,fc.bias:2', size: 8 },
    arrays: { values: new Float32Array(7) },
  });
  assert.throws(() => decodeParams(forged, spec), /7 values .*needs 8/);
});

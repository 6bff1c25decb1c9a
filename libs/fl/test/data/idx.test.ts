import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { IdxFormatError, encodeIdx, parseIdx, parseIdxImages, parseIdxLabels } from '../../src/data/index.js';

const images = (): Uint8Array => encodeIdx([2, 2, 3], Uint8Array.from([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]));
const labels = (): Uint8Array => encodeIdx([2], Uint8Array.from([7, 3]));

test('hand-made IDX header bytes parse as expected', () => {
  const bytes = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 9, 8, 7]);
  assert.deepEqual(Array.from(parseIdxLabels(bytes)), [9, 8, 7]);
  const img = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 11, 22]);
  const parsed = parseIdxImages(img);
  assert.deepEqual([parsed.count, parsed.rows, parsed.cols], [1, 2, 1]);
  assert.deepEqual(Array.from(parsed.pixels), [11, 22]);
});

test('raw and gzip bytes give the same result', () => {
  for (const bytes of [images(), new Uint8Array(gzipSync(images()))]) {
    const img = parseIdxImages(bytes, 'x');
    assert.equal(img.count, 2);
    assert.equal(img.rows, 2);
    assert.equal(img.cols, 3);
    assert.deepEqual(Array.from(img.pixels), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  }
  assert.deepEqual(Array.from(parseIdxLabels(new Uint8Array(gzipSync(labels())))), [7, 3]);
  assert.deepEqual(parseIdx(labels()).dims, [2]);
});

test('bad IDX bytes are rejected with the file name and what is wrong', () => {
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.from([0, 0]), /f\.idx: 2 bytes is too short/],
    [Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), /f\.idx: not an IDX file \(magic starts 01 02 08 01/],
    [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /element type 0x0d \(float32\) is not supported/],
    [Uint8Array.from([0, 0, 8, 0]), /declares 0 dimensions/],
    [Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1]), /truncated IDX header: 3 dimensions need 16 bytes, got 8/],
    [images().subarray(0, images().length - 1), /IDX data truncated: dimensions \[2, 2, 3\] need 12 bytes, found 11/],
    [Uint8Array.from([...labels(), 1]), /has trailing bytes: dimensions \[2\] need 2 bytes, found 3/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => parseIdx(bytes, 'f.idx'), (e: unknown) => e instanceof IdxFormatError && re.test(e.message));
  }
  assert.throws(() => parseIdxImages(labels(), 'l.idx'), /l\.idx: an image file has 3 dimensions .* is it a label file\?/);
  assert.throws(() => parseIdxLabels(images(), 'i.idx'), /i\.idx: a label file has 1 dimension, this one has 3/);
  assert.throws(() => parseIdxImages(encodeIdx([1, 0, 3], new Uint8Array(0)), 'e'), /0×3 pixels are empty/);
  const gz = new Uint8Array(gzipSync(images()));
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10), 'z.gz'), /z\.gz: gzip data is corrupt or truncated/);
});

test('encodeIdx checks its input', () => {
  assert.throws(() => encodeIdx([3], new Uint8Array(2)), /need 3 bytes, data has 2/);
  assert.throws(() => encodeIdx([], new Uint8Array(1)), /1\.\.255 dimensions/);
});

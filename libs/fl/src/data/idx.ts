/**
 * IDX (the MNIST file format): magic 00 00 <element type> <number of dimensions>, then every
 * dimension as a big-endian u32, then the elements in row-major order. Only unsigned bytes (0x08)
 * occur in image/label files, so that is all we read. Input may be gzip'd.
 */
import { gunzipSync } from 'node:zlib';
import { IdxFormatError } from './errors.js';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count × rows × cols pixels, row-major */
  readonly pixels: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** Whether the bytes start with the gzip magic. */
export const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Gunzips if the bytes start with the gzip magic, else returns them as they are. */
export function maybeGunzip(bytes: Uint8Array, source = 'IDX data'): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    // A plain Uint8Array view (no copy): Buffer's slice() would share memory where callers expect a copy.
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new IdxFormatError(`${source}: gzip data is corrupt or truncated (${reason}); re-download or reinstall the file`);
  }
}

/** Where an IDX file's elements start, and how many bytes of them its dimensions declare. */
export interface IdxHeader {
  readonly dims: readonly number[];
  readonly headerBytes: number;
  /** product of the dimensions: the body's length in bytes */
  readonly size: number;
}

/** How many leading bytes parseIdxHeader needs: 4 until the dimension count is known, then all of the header. */
export function idxHeaderLength(raw: Uint8Array): number {
  return raw.length < 4 ? 4 : 4 + 4 * raw[3]!;
}

/** Parses the header at the start of raw (uncompressed) IDX bytes; the body may be absent. */
export function parseIdxHeader(raw: Uint8Array, source = 'IDX data'): IdxHeader {
  if (raw.length < 4) throw new IdxFormatError(`${source}: ${raw.length} bytes is too short for an IDX header`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    const found = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new IdxFormatError(`${source}: not an IDX file (magic starts ${found}, expected 00 00 08 <ndims>)`);
  }
  const type = raw[2]!;
  if (type !== UBYTE) {
    const name = TYPE_NAMES[type] ?? 'unknown';
    throw new IdxFormatError(`${source}: IDX element type 0x${type.toString(16).padStart(2, '0')} (${name}) is not supported; only unsigned byte (0x08) is`);
  }
  const ndims = raw[3]!;
  if (ndims === 0) throw new IdxFormatError(`${source}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (raw.length < headerBytes) {
    throw new IdxFormatError(`${source}: truncated IDX header: ${ndims} dimensions need ${headerBytes} bytes, got ${raw.length}`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  return { dims, headerBytes, size };
}

/** Throws unless the body after `header` is `body` bytes long, as its dimensions declare. */
export function assertIdxBodyLength(header: IdxHeader, body: number, source = 'IDX data'): void {
  if (body === header.size) return;
  const how = body < header.size ? 'truncated' : 'has trailing bytes';
  throw new IdxFormatError(`${source}: IDX data ${how}: dimensions [${header.dims.join(', ')}] need ${header.size} bytes, found ${body}`);
}

/** Parses raw or gzip'd IDX bytes of unsigned bytes. `source` (a file name) goes into every error. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const raw = maybeGunzip(bytes, source);
  const header = parseIdxHeader(raw, source);
  assertIdxBodyLength(header, raw.length - header.headerBytes, source);
  return { dims: header.dims, data: new Uint8Array(raw.buffer, raw.byteOffset + header.headerBytes, header.size) };
}

/** Count and size of the images an image file's dimensions declare. */
export function idxImagesShape(dims: readonly number[], source = 'IDX images'): { count: number; rows: number; cols: number } {
  if (dims.length !== 3) {
    throw new IdxFormatError(`${source}: an image file has 3 dimensions (count, rows, cols), this one has ${dims.length} [${dims.join(', ')}]; is it a label file?`);
  }
  const [count, rows, cols] = dims as [number, number, number];
  if (rows === 0 || cols === 0) throw new IdxFormatError(`${source}: images of ${rows}×${cols} pixels are empty`);
  return { count, rows, cols };
}

/** Number of labels a label file's dimensions declare. */
export function idxLabelsCount(dims: readonly number[], source = 'IDX labels'): number {
  if (dims.length !== 1) {
    throw new IdxFormatError(`${source}: a label file has 1 dimension, this one has ${dims.length} [${dims.join(', ')}]; is it an image file?`);
  }
  return dims[0]!;
}

export function parseIdxImages(bytes: Uint8Array, source = 'IDX images'): IdxImages {
  const { dims, data } = parseIdx(bytes, source);
  return { ...idxImagesShape(dims, source), pixels: data };
}

export function parseIdxLabels(bytes: Uint8Array, source = 'IDX labels'): Uint8Array {
  const { dims, data } = parseIdx(bytes, source);
  idxLabelsCount(dims, source);
  return data;
}

/** Writes unsigned-byte IDX bytes (for tests and for users converting their own data). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 0 || dims.length > 255) throw new IdxFormatError(`encodeIdx: 1..255 dimensions, got ${dims.length}`);
  if (size !== data.length) {
    throw new IdxFormatError(`encodeIdx: dimensions [${dims.join(', ')}] need ${size} bytes, data has ${data.length}`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const dv = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

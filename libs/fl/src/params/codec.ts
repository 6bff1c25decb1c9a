/**
 * The one binary format of the blob store (models, updates, patches, client state, partition
 * manifests). Layout, little-endian:
 *
 *   header   16 B   magic 'FSIM' | u32 format version | u32 manifest byte length | u32 total byte length
 *   manifest        UTF-8 JSON { kind, meta, arrays: [{ name, dtype, length, offset }] }, zero-padded to 8
 *   payload         arrays, each starting 8-aligned (offset is relative to the payload start)
 *   trailer   8 B   u32 total byte length | u32 CRC32 of every byte before the CRC
 *
 * The total length sits in the header as well as the trailer so a truncated blob is named as
 * truncated rather than as a checksum failure.
 */
import { crc32 } from 'node:zlib';
import { formatIssues } from '../util/zod-issues.js';
import { z } from 'zod';
import type { ParamSpec } from './spec.js';
import { specFingerprint } from './spec.js';

export type BlobArray = Float32Array | Uint32Array | Int32Array | Uint8Array;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface DecodedBlob {
  kind: string;
  meta: JsonObject;
  arrays: Record<string, BlobArray>;
}

/**
 * Why a blob could not be encoded or decoded: `corrupt` (bytes damaged or not a fedsim blob),
 * `shape_mismatch` (a valid blob of another model, kind or size) or `unsupported` (a value or
 * host this format cannot represent).
 */
export type CodecErrorCode = 'corrupt' | 'shape_mismatch' | 'unsupported';

export class CodecError extends Error {
  constructor(
    message: string,
    readonly code: CodecErrorCode = 'corrupt',
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

export const BLOB_MAGIC = 'FSIM';
export const BLOB_FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
const TRAILER_BYTES = 8;
const ALIGN = 8;
const MAX_TOTAL = 0xffffffff;

type Dtype = 'f32' | 'u32' | 'i32' | 'u8';
const DTYPES = ['f32', 'u32', 'i32', 'u8'] as const satisfies readonly Dtype[];
const BYTES_PER: Record<Dtype, number> = { f32: 4, u32: 4, i32: 4, u8: 1 };

function dtypeOf(a: BlobArray): Dtype {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint8Array) return 'u8';
  throw new CodecError('unsupported array type; use Float32Array, Uint32Array, Int32Array or Uint8Array', 'unsupported');
}

function view(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): BlobArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(buffer, byteOffset, length);
    case 'u32':
      return new Uint32Array(buffer, byteOffset, length);
    case 'i32':
      return new Int32Array(buffer, byteOffset, length);
    case 'u8':
      return new Uint8Array(buffer, byteOffset, length);
  }
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

// Typed-array views use host byte order; the format is little-endian and we never expect a
// big-endian host, so refuse rather than silently swap.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function assertLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw new CodecError('blob codec: big-endian hosts are not supported', 'unsupported');
}

const manifestSchema = z.strictObject({
  kind: z.string().min(1),
  meta: z.record(z.string(), z.json()),
  arrays: z.array(
    z.strictObject({
      name: z.string().min(1),
      dtype: z.enum(DTYPES),
      length: z.number().int().nonnegative(),
      offset: z.number().int().nonnegative(),
    }),
  ),
});
type Manifest = z.infer<typeof manifestSchema>;

const MAGIC_BYTES = new TextEncoder().encode(BLOB_MAGIC);

export function encodeBlob(blob: DecodedBlob): Uint8Array {
  assertLittleEndianHost();
  if (typeof blob.kind !== 'string' || blob.kind.length === 0) {
    throw new CodecError('encodeBlob: kind must be a non-empty string');
  }
  const metaCheck = z.record(z.string(), z.json()).safeParse(blob.meta);
  if (!metaCheck.success) {
    throw new CodecError(
      `encodeBlob(${blob.kind}): meta is not plain JSON (no NaN/Infinity/undefined/functions): ${metaCheck.error.issues
        .map((i) => `${i.path.join('.') || '<root>'}: ${i.message}`)
        .join('; ')}`,
    );
  }

  const entries: Manifest['arrays'] = [];
  const sources: BlobArray[] = [];
  let payloadBytes = 0;
  for (const [name, arr] of Object.entries(blob.arrays)) {
    if (name.length === 0) throw new CodecError(`encodeBlob(${blob.kind}): array names must be non-empty`);
    const dtype = dtypeOf(arr);
    entries.push({ name, dtype, length: arr.length, offset: payloadBytes });
    sources.push(arr);
    payloadBytes = align(payloadBytes + arr.byteLength);
  }

  const manifestBytes = new TextEncoder().encode(JSON.stringify({ kind: blob.kind, meta: blob.meta, arrays: entries }));
  const payloadStart = align(HEADER_BYTES + manifestBytes.length);
  const total = payloadStart + payloadBytes + TRAILER_BYTES;
  if (total > MAX_TOTAL) {
    throw new CodecError(`encodeBlob(${blob.kind}): ${total} bytes exceeds the format's 4 GiB limit`, 'unsupported');
  }

  // A fresh ArrayBuffer is zero-filled, so alignment padding is deterministic.
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  dv.setUint32(4, BLOB_FORMAT_VERSION, true);
  dv.setUint32(8, manifestBytes.length, true);
  dv.setUint32(12, total, true);
  out.set(manifestBytes, HEADER_BYTES);
  for (let i = 0; i < entries.length; i++) {
    const src = sources[i]!;
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), payloadStart + entries[i]!.offset);
  }
  dv.setUint32(total - 8, total, true);
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/**
 * Parses and verifies a blob. Arrays are views into `bytes` when its alignment allows (so they
 * alias it: don't mutate the input while you hold them), copies otherwise.
 */
export function decodeBlob(bytes: Uint8Array, expectKind?: string): DecodedBlob {
  assertLittleEndianHost();
  const what = expectKind ? `blob (expected kind '${expectKind}')` : 'blob';
  const minBytes = HEADER_BYTES + TRAILER_BYTES;
  if (bytes.length < minBytes) {
    throw new CodecError(`${what} is truncated: ${bytes.length} bytes, a blob is at least ${minBytes}`);
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC_BYTES[i]) {
      const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new CodecError(`${what} has wrong magic: expected '${BLOB_MAGIC}' (46 53 49 4d), found ${found}; not a fedsim blob`);
    }
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== BLOB_FORMAT_VERSION) {
    throw new CodecError(`${what} has unsupported format version ${version}; this build reads version ${BLOB_FORMAT_VERSION}`, 'unsupported');
  }
  const manifestLength = dv.getUint32(8, true);
  const total = dv.getUint32(12, true);
  if (bytes.length < total) {
    throw new CodecError(`${what} is truncated: header says ${total} bytes, got ${bytes.length}`);
  }
  if (bytes.length > total) {
    throw new CodecError(`${what} has the wrong length: header says ${total} bytes, got ${bytes.length} (trailing data or corrupt header)`);
  }
  const trailerTotal = dv.getUint32(total - 8, true);
  if (trailerTotal !== total) {
    throw new CodecError(`${what} is corrupt: trailer says ${trailerTotal} bytes, header says ${total}`);
  }
  const storedCrc = dv.getUint32(total - 4, true);
  const actualCrc = crc32(bytes.subarray(0, total - 4));
  if (storedCrc !== actualCrc) {
    throw new CodecError(
      `${what} failed its checksum: stored CRC32 ${storedCrc.toString(16).padStart(8, '0')}, computed ${actualCrc
        .toString(16)
        .padStart(8, '0')} (corrupted in storage or transit)`,
    );
  }

  const payloadStart = align(HEADER_BYTES + manifestLength);
  const payloadEnd = total - TRAILER_BYTES;
  if (payloadStart > payloadEnd) {
    throw new CodecError(`${what} has a bad manifest: length ${manifestLength} runs past the payload end (${payloadEnd})`);
  }
  let manifest: Manifest;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + manifestLength));
    const parsed = manifestSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new CodecError(formatIssues(parsed.error));
    }
    manifest = parsed.data;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CodecError(`${what} has a bad manifest: ${reason}`);
  }
  if (expectKind !== undefined && manifest.kind !== expectKind) {
    throw new CodecError(`blob has the wrong kind: expected '${expectKind}', got '${manifest.kind}'`, 'shape_mismatch');
  }

  const payloadLength = payloadEnd - payloadStart;
  const arrays: Record<string, BlobArray> = {};
  const spans: [number, number, string][] = [];
  for (const entry of manifest.arrays) {
    if (Object.hasOwn(arrays, entry.name)) {
      throw new CodecError(`${what} has a bad manifest: duplicate array '${entry.name}'`);
    }
    const byteLength = entry.length * BYTES_PER[entry.dtype];
    if (entry.offset % ALIGN !== 0) {
      throw new CodecError(`${what}: array '${entry.name}' offset ${entry.offset} is not ${ALIGN}-byte aligned`);
    }
    if (entry.offset + byteLength > payloadLength) {
      throw new CodecError(
        `${what}: array '${entry.name}' is out of bounds: bytes [${entry.offset}, ${entry.offset + byteLength}) of a ${payloadLength}-byte payload`,
      );
    }
    spans.push([entry.offset, entry.offset + byteLength, entry.name]);
    const absolute = bytes.byteOffset + payloadStart + entry.offset;
    if (absolute % BYTES_PER[entry.dtype] === 0) {
      arrays[entry.name] = view(entry.dtype, bytes.buffer, absolute, entry.length);
    } else {
      const copy = bytes.slice(payloadStart + entry.offset, payloadStart + entry.offset + byteLength);
      arrays[entry.name] = view(entry.dtype, copy.buffer, 0, entry.length);
    }
  }
  // Overlapping arrays would alias each other's data: never written by encodeBlob, so refuse them.
  spans.sort((a, b) => a[0] - b[0]);
  let reach = 0;
  let reachName = '';
  for (const [start, end, name] of spans) {
    if (end === start) continue;
    if (start < reach) throw new CodecError(`${what}: arrays '${reachName}' and '${name}' overlap`);
    if (end > reach) {
      reach = end;
      reachName = name;
    }
  }
  return { kind: manifest.kind, meta: manifest.meta as JsonObject, arrays };
}

/** Reads one named array of an expected dtype from a decoded blob, with a clear error otherwise. */
export function blobArray<T extends BlobArray>(
  blob: DecodedBlob,
  name: string,
  ctor: { new (...args: never[]): T; name: string },
): T {
  const a = blob.arrays[name];
  if (a === undefined) {
    throw new CodecError(`blob '${blob.kind}' has no array '${name}' (has: ${Object.keys(blob.arrays).join(', ') || 'none'})`, 'shape_mismatch');
  }
  if (!(a instanceof ctor)) {
    throw new CodecError(`blob '${blob.kind}' array '${name}' is ${a.constructor.name}, expected ${ctor.name}`, 'shape_mismatch');
  }
  return a;
}

export const PARAMS_KIND = 'params';

export interface DecodedParams {
  values: Float32Array;
  /** caller's meta, without the codec's own `spec`/`size` fields */
  meta: JsonObject;
}

/** A model-shaped blob: the flat vector plus the spec fingerprint, so a mismatched model is caught on read. */
export function encodeParams(
  spec: ParamSpec,
  values: Float32Array,
  meta: JsonObject = {},
  kind: string = PARAMS_KIND,
): Uint8Array {
  if (values.length !== spec.size) {
    throw new CodecError(`encodeParams: vector has ${values.length} elements, the spec needs ${spec.size}`, 'shape_mismatch');
  }
  if ('spec' in meta || 'size' in meta) {
    throw new CodecError("encodeParams: meta keys 'spec' and 'size' are reserved");
  }
  return encodeBlob({ kind, meta: { ...meta, spec: specFingerprint(spec), size: spec.size }, arrays: { values } });
}

export function decodeParams(bytes: Uint8Array, spec: ParamSpec, kind: string = PARAMS_KIND): DecodedParams {
  const blob = decodeBlob(bytes, kind);
  const { spec: storedSpec, size, ...meta } = blob.meta;
  const expected = specFingerprint(spec);
  if (storedSpec !== expected) {
    throw new CodecError(
      `params blob was written for a different model: stored spec '${String(storedSpec)}', expected '${expected}'`,
      'shape_mismatch',
    );
  }
  const values = blobArray(blob, 'values', Float32Array);
  if (size !== spec.size || values.length !== spec.size) {
    throw new CodecError(`params blob has ${values.length} values (meta size ${String(size)}), the spec needs ${spec.size}`, 'shape_mismatch');
  }
  return { values, meta };
}

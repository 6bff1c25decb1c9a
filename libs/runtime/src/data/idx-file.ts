import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import type { IdxHeader } from '@fedsim/fl/data';
import { assertIdxBodyLength, idxHeaderLength, isGzip, parseIdxHeader } from '@fedsim/fl/data';
import { DatasetNotFoundError } from '../errors/run.js';

/**
 * IDX files read in two passes, so that a data set is decompressed straight into its pooled
 * (shared) arrays: the header first (to size the arrays), then the body streamed into its place.
 * Gunzipping a whole file first kept a full-size copy of it (~55 MB for Fashion-MNIST) alive until
 * the next full GC, which is when the compute threads start and the process peaks.
 */

/** Enough compressed bytes to hold any IDX header (≤ 1,024 bytes) after a gzip header with a file name. */
const HEADER_PREFIX_BYTES = 64 * 1024;
/** gunzip output chunk: few stream events, little short-lived garbage */
const CHUNK_BYTES = 1024 * 1024;

export interface IdxFileHeader extends IdxHeader {
  readonly gzip: boolean;
}

function corrupt(path: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new Error(`${path}: gzip data is corrupt or truncated (${reason}); re-download or reinstall the file`);
}

async function readPrefix(path: string): Promise<Uint8Array> {
  let file;
  try {
    file = await open(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetNotFoundError(path, `cannot read ${path}: ${reason}`);
  }
  try {
    const buf = new Uint8Array(HEADER_PREFIX_BYTES);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** The file's IDX header, gunzipping only the start of a gzip'd file. */
export async function readIdxFileHeader(path: string): Promise<IdxFileHeader> {
  const prefix = await readPrefix(path);
  const gzip = isGzip(prefix);
  let raw = prefix;
  if (gzip) {
    try {
      // SYNC_FLUSH: inflate what the prefix holds instead of failing on the missing rest.
      raw = gunzipSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw corrupt(path, err);
    }
  }
  return { ...parseIdxHeader(raw.subarray(0, idxHeaderLength(raw)), path), gzip };
}

/** Streams the body of the file whose header is `header` into `dest` (header.size bytes long). */
export async function readIdxFileBody(path: string, header: IdxFileHeader, dest: Uint8Array): Promise<void> {
  const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const source = header.gzip ? file.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : file;
  if (source !== file) file.on('error', (err) => source.destroy(err));
  let at = -header.headerBytes;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const skip = Math.max(0, -at);
      const room = Math.max(0, dest.length - Math.max(0, at));
      const take = Math.min(room, chunk.length - skip);
      if (take > 0) dest.set(chunk.subarray(skip, skip + take), at + skip);
      at += chunk.length;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw corrupt(path, err);
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetNotFoundError(path, `cannot read ${path}: ${reason}`);
  }
  assertIdxBodyLength(header, Math.max(0, at), path);
}

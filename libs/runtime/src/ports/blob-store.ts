/**
 * Where models, updates, patches, client state and run records live. Keys are '/'-separated
 * paths (`runs/<run>/rounds/<t>/...`); writes are whole-object and overwrite-safe, so a retried
 * job that writes again never corrupts what a reader sees.
 */
export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** Throws BlobNotFoundError when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  /**
   * `length` bytes of a blob from byte `offset` (one client's section of a state pack, without
   * reading the pack). Throws BlobNotFoundError when the key does not exist, and an error when
   * the blob ends before the range does.
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Every key under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Every key under a prefix with its size in bytes, sorted by key (garbage collection reports bytes freed). */
  listSized(prefix: string): Promise<SizedKey[]>;
  delete(key: string): Promise<void>;
  /** Fails fast (seconds) with an actionable message when the store is unreachable or misconfigured. */
  check(): Promise<void>;
  /** e.g. `s3://bucket/prefix at http://127.0.0.1:9000` or `dir:/path`, never credentials */
  describe(): string;
}

export interface SizedKey {
  readonly key: string;
  readonly bytes: number;
}

/** Refuses a range a store cannot serve (negative, fractional), naming the key. */
export function assertValidRange(key: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`blob range of '${key}': offset ${offset} and length ${length} must be non-negative integers`);
  }
}

/** The error for a range that runs past the end of its blob. */
export function rangePastEnd(key: string, offset: number, length: number, got: number): Error {
  return new RangeError(`blob '${key}' ends before bytes [${offset}, ${offset + length}): got ${got} of ${length} bytes`);
}

export { BlobNotFoundError, BlobStoreUnavailableError } from '../errors/store.js';

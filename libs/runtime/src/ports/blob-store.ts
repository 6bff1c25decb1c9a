/**
 * Where models, updates, patches, client state and run records live. Keys are '/'-separated
 * paths (`runs/<run>/rounds/<t>/...`); writes are whole-object and overwrite-safe, so a retried
 * job that writes again never corrupts what a reader sees.
 */
export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** Throws BlobNotFoundError when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Every key under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Fails fast (seconds) with an actionable message when the store is unreachable or misconfigured. */
  check(): Promise<void>;
  /** e.g. `s3://bucket/prefix at http://127.0.0.1:9000` or `dir:/path`, never credentials */
  describe(): string;
}

export { BlobNotFoundError, BlobStoreUnavailableError } from '../errors/store.js';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { assertValidRange, BlobNotFoundError, BlobStoreUnavailableError, rangePastEnd } from '../../ports/blob-store.js';
import type { BlobStore, SizedKey } from '../../ports/blob-store.js';
import { toLogger } from '../logger.js';
import { maskSecrets } from '../redact.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { OutageRetry } from './outage-retry.js';
import { explainS3CheckError, isNotFound, transientReason } from './s3-errors.js';
import { parseS3Env } from './s3-env.js';

export type { S3BlobStoreOptions, S3Credentials } from './s3-options.js';
import type { S3BlobStoreOptions } from './s3-options.js';

const CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_OUTAGE_BUDGET_SECONDS = 300;

/**
 * A blob store over any S3 API. Objects are whole-object PUTs, so an overwrite is atomic for
 * readers (S3's read-after-write consistency), which is what retried jobs rely on.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly keyPrefix: string;
  private readonly retry: OutageRetry;

  constructor(private readonly options: S3BlobStoreOptions) {
    if (!options.bucket) throw new BlobStoreUnavailableError('S3BlobStore: bucket is empty (set S3_BUCKET)');
    if (!options.region) throw new BlobStoreUnavailableError('S3BlobStore: region is empty (set S3_REGION)');
    const prefix = options.prefix ?? '';
    this.keyPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (this.keyPrefix) assertValidPrefix(this.keyPrefix);
    // One SDK attempt per call: OutageRetry owns retrying, in time rather than in tries.
    this.client = new S3Client(this.clientConfig({
      maxAttempts: 1,
      // Without throwOnRequestTimeout the SDK only warns and a silent S3 hangs the call forever.
      requestHandler: {
        connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: options.requestTimeoutMs ?? 60_000, throwOnRequestTimeout: true,
      },
    }));
    this.retry = new OutageRetry({
      budgetMs: (options.outageBudgetSeconds ?? DEFAULT_OUTAGE_BUDGET_SECONDS) * 1000,
      transientReason,
      service: `S3 at ${this.endpointLabel()}`,
      budgetSetting: 'S3_OUTAGE_BUDGET_SECONDS',
      log: toLogger(options.log),
    });
  }

  /**
   * Builds the store from S3_ENDPOINT, S3_BUCKET (required), S3_REGION (default us-east-1),
   * S3_PREFIX, S3_FORCE_PATH_STYLE (default true) and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
   * / AWS_SESSION_TOKEN (both keys or neither; neither = the SDK's default credential chain).
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>): S3BlobStore {
    return new S3BlobStore(parseS3Env(env));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.send('PutObject', key, () => this.client.send(new PutObjectCommand({
      Bucket: this.options.bucket, Key: this.fullKey(key), Body: body, ContentLength: body.byteLength,
    })));
  }

  async get(key: string): Promise<Uint8Array> {
    return this.getObject(key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    assertValidRange(key, offset, length);
    if (length === 0) {
      if (!(await this.exists(key))) throw new BlobNotFoundError(key, this.describe());
      return new Uint8Array(0);
    }
    const bytes = await this.getObject(key, `bytes=${offset}-${offset + length - 1}`);
    // a range starting inside the object but ending past it comes back short, not as an error
    if (bytes.byteLength !== length) throw rangePastEnd(key, offset, length, bytes.byteLength);
    return bytes;
  }

  private async getObject(key: string, range?: string): Promise<Uint8Array> {
    const fullKey = this.fullKey(key);
    try {
      // The body read is inside the retried call: a transfer cut midway is fetched again.
      return await this.retry.run(`GetObject ${key}`, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: fullKey, ...(range ? { Range: range } : {}) }));
        if (!out.Body) throw new Error('response has no body');
        const bytes = await out.Body.transformToByteArray();
        if (out.ContentLength !== undefined && bytes.byteLength !== out.ContentLength) {
          throw Object.assign(new Error(`body ended before ${out.ContentLength} bytes (got ${bytes.byteLength})`), {
            name: 'TruncatedBody',
          });
        }
        return bytes;
      });
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key, this.describe());
      throw this.wrap('GetObject', fullKey, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    const fullKey = this.fullKey(key);
    try {
      await this.retry.run(`HeadObject ${key}`, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: fullKey })));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.wrap('HeadObject', fullKey, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listSized(prefix)).map((k) => k.key);
  }

  async listSized(prefix: string): Promise<SizedKey[]> {
    assertValidPrefix(prefix);
    const fullPrefix = this.keyPrefix + prefix;
    const keys: SizedKey[] = [];
    let token: string | undefined;
    do {
      const page = await this.send('ListObjectsV2', fullPrefix, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.options.bucket,
        Prefix: fullPrefix,
        MaxKeys: this.options.listPageSize ?? 1000,
        ContinuationToken: token,
      })));
      for (const object of page.Contents ?? []) {
        if (object.Key?.startsWith(this.keyPrefix)) keys.push({ key: object.Key.slice(this.keyPrefix.length), bytes: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await this.send('DeleteObject', key, () => this.client.send(new DeleteObjectCommand({
      Bucket: this.options.bucket, Key: this.fullKey(key),
    })));
  }

  async check(): Promise<void> {
    const timeoutMs = this.options.checkTimeoutMs ?? 10_000;
    // A separate client: few tries and short timeouts, so a wrong endpoint fails in seconds.
    const probe = new S3Client(this.clientConfig({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: Math.min(5_000, timeoutMs), throwOnRequestTimeout: true },
    }));
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      await probe.send(new HeadBucketCommand({ Bucket: this.options.bucket }), { abortSignal: abort.signal });
    } catch (err) {
      const reason = abort.signal.aborted ? new Error(`no answer within ${timeoutMs} ms`, { cause: err }) : err;
      throw new BlobStoreUnavailableError(
        maskSecrets(explainS3CheckError(reason, { bucket: this.options.bucket, endpoint: this.endpointLabel() })),
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
      probe.destroy();
    }
  }

  describe(): string {
    return `s3://${this.options.bucket}/${this.keyPrefix} at ${this.endpointLabel()}`;
  }

  /** Releases the SDK's sockets; calls waiting out an outage fail at once. */
  close(): void {
    this.retry.close();
    this.client.destroy();
  }

  private endpointLabel(): string {
    return this.options.endpoint ? maskSecrets(this.options.endpoint) : `AWS S3 (${this.options.region})`;
  }

  private clientConfig(extra: Pick<S3ClientConfig, 'maxAttempts' | 'requestHandler'>): S3ClientConfig {
    const o = this.options;
    return {
      region: o.region,
      forcePathStyle: o.forcePathStyle,
      ...(o.endpoint ? {
        endpoint: o.endpoint,
        // S3-compatible servers often reject or mis-handle the SDK's default flexible checksums
        // (CRC32 trailers); send and verify them only where the operation requires it.
        requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        responseChecksumValidation: 'WHEN_REQUIRED' as const,
      } : {}),
      ...(o.credentials ? { credentials: { ...o.credentials } } : {}),
      ...extra,
    };
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.keyPrefix + key;
  }

  private async send<T>(operation: string, key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.retry.run(`${operation} ${key}`, call);
    } catch (err) {
      throw this.wrap(operation, key, err);
    }
  }

  private wrap(operation: string, key: string, err: unknown): Error {
    if (err instanceof BlobStoreUnavailableError) return err;
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const hint = status === 401 || status === 403 ? '; the credentials are wrong or lack permission (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)'
      : e.name === 'NoSuchBucket' ? `; create bucket '${this.options.bucket}' or set S3_BUCKET to an existing one` : '';
    return new Error(maskSecrets(`S3 ${operation} s3://${this.options.bucket}/${key} at ${this.endpointLabel()} failed: `
      + `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}${hint}`), { cause: err });
  }
}

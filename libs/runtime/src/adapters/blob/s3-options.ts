import type { LogSink } from '../logger.js';

/** How to reach an S3 bucket; built from S3_* / AWS_* variables by parseS3Env. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3BlobStoreOptions {
  /** S3-compatible endpoint (MinIO, s3rver, ...); absent = AWS S3 for `region` */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** key prefix inside the bucket, e.g. 'fedsim/'; a missing trailing '/' is added */
  readonly prefix?: string;
  readonly forcePathStyle: boolean;
  /** absent = the SDK's default chain (env, shared config, web identity, instance metadata) */
  readonly credentials?: S3Credentials;
  /**
   * How long one operation rides out transient faults (refused or cut connections, timeouts,
   * 5xx, throttling) with capped exponential backoff before failing (default 300 s;
   * S3_OUTAGE_BUDGET_SECONDS). Non-transient errors (403, 404, 400) fail at once.
   */
  readonly outageBudgetSeconds?: number;
  /** per-request socket timeout for data operations (default 60 s) */
  readonly requestTimeoutMs?: number;
  /** how many keys one ListObjectsV2 page asks for (default 1000, S3's maximum) */
  readonly listPageSize?: number;
  /** budget for check() (default 10 s) */
  readonly checkTimeoutMs?: number;
  /** where outage start/end and give-up messages go (default: console) */
  readonly log?: LogSink;
}

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
  /** SDK tries per request (default 3) */
  readonly maxAttempts?: number;
  /** per-request socket timeout for data operations (default 60 s) */
  readonly requestTimeoutMs?: number;
  /** how many keys one ListObjectsV2 page asks for (default 1000, S3's maximum) */
  readonly listPageSize?: number;
  /** budget for check() (default 10 s) */
  readonly checkTimeoutMs?: number;
}

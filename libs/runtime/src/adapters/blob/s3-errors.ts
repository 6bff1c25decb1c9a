/** Turns S3 SDK failures into messages that say what to fix, never echoing credentials. */

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE',
]);

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : { message: String(err) };
}

function statusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.Code === 'NoSuchKey' || statusOf(err) === 404;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = shape(e).cause, depth++) {
    const s = shape(e);
    if (s.code && NETWORK_CODES.has(s.code)) return s.code;
    if (s.name === 'TimeoutError' || s.name === 'AbortError' || s.name === 'RequestTimeout') return s.name;
    if (s.message?.startsWith('no answer within')) return 'timeout';
  }
  return undefined;
}

export function explainS3CheckError(err: unknown, where: { bucket: string; endpoint: string }): string {
  const e = shape(err);
  const status = statusOf(err);
  const net = networkCode(err);
  if (net === 'timeout' || net === 'TimeoutError') {
    return `S3 endpoint ${where.endpoint} does not answer (${e.message ?? net}); check S3_ENDPOINT points at an S3 API `
      + 'and that the S3 service is not stuck or overloaded';
  }
  if (net) {
    return `S3 endpoint ${where.endpoint} is unreachable (${net}: ${e.message ?? ''}); `
      + 'check S3_ENDPOINT and that the S3 service (e.g. MinIO) is running and reachable from here';
  }
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.name ?? '')) {
    return `no S3 credentials found for ${where.endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY `
      + '(or configure an AWS profile / workload identity)';
  }
  if (status === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket') {
    return `S3 bucket '${where.bucket}' does not exist at ${where.endpoint}: create it `
      + `(e.g. 'mc mb <alias>/${where.bucket}' or 'aws s3 mb s3://${where.bucket}') or set S3_BUCKET to an existing bucket`;
  }
  if (status === 401 || status === 403 || e.name === 'Forbidden' || e.name === 'InvalidAccessKeyId'
    || e.name === 'SignatureDoesNotMatch' || e.name === 'AccessDenied') {
    return `S3 at ${where.endpoint} refused access to bucket '${where.bucket}' (HTTP ${status ?? '403'}): `
      + 'the credentials are wrong or lack permission; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY';
  }
  if (status === 301 || e.name === 'PermanentRedirect') {
    return `S3 bucket '${where.bucket}' lives in another region than configured: set S3_REGION to the bucket's region`;
  }
  return `S3 check of bucket '${where.bucket}' at ${where.endpoint} failed (${e.name ?? 'Error'}`
    + `${status ? `, HTTP ${status}` : ''}: ${e.message ?? ''}); check S3_ENDPOINT, S3_BUCKET and the credentials`;
}

/** S3 error codes that mean "busy or briefly broken, try again", whatever the HTTP status says. */
const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestThrottled',
  'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError',
  'IncompleteBody', 'TruncatedBody',
]);

/**
 * Why a failed S3 call is worth retrying (a short label for logs), or undefined when it is not:
 * network errors, timeouts, cut transfers, HTTP 5xx and throttling are transient; 4xx answers
 * (missing bucket, refused credentials, bad request) will not change by waiting.
 */
export function transientReason(err: unknown): string | undefined {
  const net = networkCode(err);
  if (net) return net;
  const e = shape(err);
  const status = statusOf(err);
  if (status !== undefined && (status >= 500 || status === 429)) return `HTTP ${status}`;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return e.name;
  if (e.Code && TRANSIENT_NAMES.has(e.Code)) return e.Code;
  // A response cut mid-body surfaces as a plain "aborted"/"socket hang up" error without a status.
  if (status === undefined && /aborted|socket hang up|premature close|ended before|other side closed/i.test(e.message ?? '')) {
    return 'connection cut';
  }
  return undefined;
}

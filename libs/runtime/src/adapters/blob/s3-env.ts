import { z } from 'zod';
import { BlobStoreUnavailableError } from '../../ports/blob-store.js';
import type { S3BlobStoreOptions } from './s3-options.js';

/** Empty strings count as unset: `S3_ENDPOINT=` in a compose file means "none". */
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
const bool = z.preprocess(
  (v) => (v === '' || v === undefined ? undefined : String(v).toLowerCase()),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional(),
);

const seconds = (min: number, max: number) => z.preprocess(
  (v) => (v === '' || v === undefined ? undefined : Number(v)),
  z.number().finite().min(min).max(max).optional(),
);

const S3Env = z.object({
  S3_ENDPOINT: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
  S3_BUCKET: z.preprocess((v) => (v === '' ? undefined : v), z.string({ error: 'is not set' }).min(1)),
  S3_REGION: optionalString,
  S3_PREFIX: optionalString,
  S3_FORCE_PATH_STYLE: bool,
  S3_OUTAGE_BUDGET_SECONDS: seconds(0, 86_400),
  S3_REQUEST_TIMEOUT_SECONDS: seconds(1, 3_600),
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
});

const HINTS: Record<string, string> = {
  S3_ENDPOINT: 'an http(s) URL such as http://minio:9000 (leave unset for AWS S3)',
  S3_BUCKET: 'the bucket fedsim writes to, e.g. S3_BUCKET=fedsim',
  S3_FORCE_PATH_STYLE: "'true' or 'false'",
  S3_OUTAGE_BUDGET_SECONDS: 'seconds from 0 to 86400 that one S3 call keeps retrying through an outage, e.g. 300',
  S3_REQUEST_TIMEOUT_SECONDS: 'seconds from 1 to 3600 one S3 request may stay silent before it is retried, e.g. 60',
};

export function parseS3Env(env: Readonly<Record<string, string | undefined>>): S3BlobStoreOptions {
  const parsed = S3Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      return `${name} ${issue.message}${HINTS[name] ? ` (expected ${HINTS[name]})` : ''}`;
    });
    throw new BlobStoreUnavailableError(`S3 blob store configuration is invalid: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    const missing = e.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    throw new BlobStoreUnavailableError(`S3 blob store configuration is invalid: ${missing} is not set; `
      + 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither to use the default credential chain');
  }
  return {
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
    region: e.S3_REGION ?? 'us-east-1',
    bucket: e.S3_BUCKET,
    ...(e.S3_PREFIX ? { prefix: e.S3_PREFIX } : {}),
    forcePathStyle: e.S3_FORCE_PATH_STYLE === undefined ? true : ['true', '1', 'yes'].includes(e.S3_FORCE_PATH_STYLE),
    ...(e.S3_OUTAGE_BUDGET_SECONDS !== undefined ? { outageBudgetSeconds: e.S3_OUTAGE_BUDGET_SECONDS } : {}),
    ...(e.S3_REQUEST_TIMEOUT_SECONDS !== undefined ? { requestTimeoutMs: e.S3_REQUEST_TIMEOUT_SECONDS * 1000 } : {}),
    ...(e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY ? {
      credentials: {
        accessKeyId: e.AWS_ACCESS_KEY_ID,
        secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
        ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}),
      },
    } : {}),
  };
}

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort, randomSuffix, startS3 } from '../../../../test/harness/index.js';
import type { S3Handle } from '../../../../test/harness/index.js';
import { S3BlobStore } from '../../src/adapters/blob/s3.js';
import type { S3BlobStoreOptions } from '../../src/adapters/blob/s3.js';
import { BlobStoreUnavailableError } from '../../src/ports/blob-store.js';
import { blobStoreConformance } from './blob-store-conformance.js';

let s3: S3Handle;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3?.stop();
});

function options(extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, forcePathStyle: true, credentials: s3.credentials,
    ...extra,
  };
}

// Each case gets its own prefix in the shared bucket; a small page size exercises pagination.
blobStoreConformance('S3BlobStore (s3rver)', async () => {
  const store = new S3BlobStore(options({ prefix: `case-${randomSuffix()}`, listPageSize: 5 }));
  return { store, close: async () => store.close() };
}, { atomicOverwrites: false });

test('S3BlobStore: the store prefix isolates stores sharing a bucket', async () => {
  const a = new S3BlobStore(options({ prefix: 'iso-a/' }));
  const b = new S3BlobStore(options({ prefix: 'iso-b' }));
  try {
    await a.put('k', new Uint8Array([1]));
    await b.put('k', new Uint8Array([2]));
    assert.deepEqual([...await a.get('k')], [1]);
    assert.deepEqual(await b.list(''), ['k']);
    assert.equal(a.describe(), `s3://${s3.bucket}/iso-a/ at ${s3.endpoint}`);
  } finally {
    a.close();
    b.close();
  }
});

test('S3BlobStore.check: a missing bucket says to create it or set S3_BUCKET', async () => {
  const store = new S3BlobStore(options({ bucket: 'no-such-bucket' }));
  try {
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(err instanceof BlobStoreUnavailableError);
      assert.match(err.message, /bucket 'no-such-bucket' does not exist/);
      assert.match(err.message, /S3_BUCKET/);
      return true;
    });
  } finally {
    store.close();
  }
});

test('S3BlobStore.check: wrong credentials are reported without echoing the secret', async () => {
  const secret = 'super-secret-value-123';
  const store = new S3BlobStore(options({ credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: secret } }));
  try {
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(err instanceof BlobStoreUnavailableError);
      assert.match(err.message, /refused access/);
      assert.match(err.message, /AWS_SECRET_ACCESS_KEY/);
      assert.ok(!err.message.includes(secret));
      return true;
    });
  } finally {
    store.close();
  }
});

test('S3BlobStore.check: an unreachable endpoint fails within seconds naming the URL and S3_ENDPOINT', async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const store = new S3BlobStore(options({ endpoint, checkTimeoutMs: 5_000 }));
  try {
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(err instanceof BlobStoreUnavailableError);
      assert.ok(err.message.includes(endpoint), err.message);
      assert.match(err.message, /unreachable/);
      assert.match(err.message, /S3_ENDPOINT/);
      return true;
    });
  } finally {
    store.close();
  }
});

test('S3BlobStore.fromEnv: reads the S3_* and AWS_* variables with defaults', async () => {
  const store = S3BlobStore.fromEnv({
    S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_PREFIX: 'from-env',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  });
  try {
    await store.check();
    await store.put('x', new Uint8Array([5]));
    assert.deepEqual([...await store.get('x')], [5]);
    assert.equal(store.describe(), `s3://${s3.bucket}/from-env/ at ${s3.endpoint}`);
  } finally {
    store.close();
  }
});

test('S3BlobStore.fromEnv: names the missing or malformed variable', () => {
  assert.throws(() => S3BlobStore.fromEnv({ S3_ENDPOINT: 'http://minio:9000' }), (err: unknown) => {
    assert.ok(err instanceof BlobStoreUnavailableError);
    assert.match(err.message, /S3_BUCKET is not set/);
    return true;
  });
  assert.throws(() => S3BlobStore.fromEnv({ S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }), /S3_ENDPOINT/);
  assert.throws(() => S3BlobStore.fromEnv({ S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'maybe' }), /S3_FORCE_PATH_STYLE/);
  assert.throws(() => S3BlobStore.fromEnv({ S3_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'id' }), /AWS_SECRET_ACCESS_KEY is not set/);
  // empty strings count as unset, and defaults apply
  const store = S3BlobStore.fromEnv({ S3_BUCKET: 'b', S3_ENDPOINT: '', S3_FORCE_PATH_STYLE: '' });
  assert.equal(store.describe(), 's3://b/ at AWS S3 (us-east-1)');
  store.close();
});

test('S3BlobStore: refused credentials or a missing bucket fail a data call at once, not after the outage budget', async () => {
  const secret = 'another-secret-456';
  const wrongKey = new S3BlobStore(options({ credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: secret }, outageBudgetSeconds: 120 }));
  const noBucket = new S3BlobStore(options({ bucket: 'no-such-bucket-here', outageBudgetSeconds: 120 }));
  const started = Date.now();
  try {
    await assert.rejects(wrongKey.put('k', new Uint8Array([1])), (err: unknown) => {
      assert.match((err as Error).message, /PutObject .*HTTP 403.*AWS_ACCESS_KEY_ID/);
      assert.ok(!(err as Error).message.includes(secret));
      return true;
    });
    await assert.rejects(noBucket.list(''), /NoSuchBucket.*set S3_BUCKET/);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  } finally {
    wrongKey.close();
    noBucket.close();
  }
});

test('S3BlobStore: user and password in S3_ENDPOINT never reach describe() or errors', async () => {
  const endpoint = `http://leaky:pw-in-url-789@127.0.0.1:${await freePort()}`;
  const store = new S3BlobStore(options({ endpoint, outageBudgetSeconds: 0 }));
  try {
    assert.ok(!store.describe().includes('pw-in-url-789'), store.describe());
    await assert.rejects(store.get('k'), (err: unknown) => {
      assert.ok(!(err as Error).message.includes('pw-in-url-789'), (err as Error).message);
      assert.match((err as Error).message, /\*\*\*@127\.0\.0\.1/);
      return true;
    });
    await assert.rejects(store.check(), (err: unknown) => !(err as Error).message.includes('pw-in-url-789'));
  } finally {
    store.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRedis, describeRedis, toConnectionOptions } from '../../src/adapters/bullmq/connection.js';
import { maskSecrets } from '../../src/adapters/redact.js';
import { freePort } from '../../../../test/harness/index.js';

const SECRET = 'pa55-w0rd';

test('maskSecrets: redis:// URL with user and password keeps the user', () => {
  assert.equal(maskSecrets(`redis://app:${SECRET}@redis:6379/0`), 'redis://app:***@redis:6379/0');
});

test('maskSecrets: redis:// URL with a password only', () => {
  assert.equal(maskSecrets(`redis://:${SECRET}@redis:6379`), 'redis://:***@redis:6379');
});

test('maskSecrets: rediss:// URL, and a password holding an unescaped @', () => {
  assert.equal(maskSecrets(`rediss://default:${SECRET}@cache.example.com:6380`), 'rediss://default:***@cache.example.com:6380');
  assert.equal(maskSecrets('redis://u:p@ss@redis:6379'), 'redis://u:***@redis:6379');
});

test('maskSecrets: a Redis URL without the redis:// prefix', () => {
  assert.equal(maskSecrets(`:${SECRET}@redis:6379`), ':***@redis:6379');
  assert.equal(maskSecrets(`app:${SECRET}@redis:6379`), 'app:***@redis:6379');
  assert.equal(maskSecrets(`Redis URL 'app:${SECRET}@redis:6379' must start with redis://`), "Redis URL 'app:***@redis:6379' must start with redis://");
  assert.equal(maskSecrets(`REDIS_URL=:${SECRET}@redis:6379`), 'REDIS_URL=:***@redis:6379');
});

test('maskSecrets: user:pw@ in an S3 endpoint (http and https), and a bare token', () => {
  assert.equal(maskSecrets(`S3 at http://minio:${SECRET}@minio:9000 failed`), 'S3 at http://minio:***@minio:9000 failed');
  assert.equal(maskSecrets(`https://AKIA:${SECRET}@s3.example.com/bucket`), 'https://AKIA:***@s3.example.com/bucket');
  assert.equal(maskSecrets(`https://${SECRET}@git.example.com/x`), 'https://***@git.example.com/x');
});

test('maskSecrets: credentials in a query string (presigned S3 URLs, tokens, passwords)', () => {
  assert.equal(
    maskSecrets(`https://s3/b/k?X-Amz-Credential=AKIA%2F2026&X-Amz-Security-Token=${SECRET}&X-Amz-Signature=abc123&X-Amz-Expires=60`),
    'https://s3/b/k?X-Amz-Credential=***&X-Amz-Security-Token=***&X-Amz-Signature=***&X-Amz-Expires=60',
  );
  assert.equal(maskSecrets(`http://gw:9091/x?password=${SECRET}&job=a#top`), 'http://gw:9091/x?password=***&job=a#top');
  assert.equal(maskSecrets(`http://h/?api_key=${SECRET}`), 'http://h/?api_key=***');
});

test('maskSecrets leaves text without credentials alone', () => {
  for (const text of [
    'redis://127.0.0.1:6379', 's3://bucket/runs/r/rounds/0 at http://127.0.0.1:9000', 'mail ops@example.com',
    'round 3: 10/10 clients', 'http://h/x?key=runs/a&prefix=b',
  ]) assert.equal(maskSecrets(text), text);
});

test('Redis: describeRedis, a URL without the scheme and a failed check never show the password', async () => {
  assert.equal(describeRedis(`redis://app:${SECRET}@redis:6379/1`), 'redis://app:***@redis:6379/1');
  assert.equal(describeRedis({ host: 'redis', port: 6380, password: SECRET }), 'redis://:***@redis:6380');
  assert.throws(() => toConnectionOptions(`app:${SECRET}@redis:6379`), (err: Error) => {
    assert.match(err.message, /must start with redis:\/\//);
    assert.ok(!err.message.includes(SECRET), err.message);
    return true;
  });
  const url = `redis://app:${SECRET}@127.0.0.1:${await freePort()}`;
  await assert.rejects(checkRedis(url, { timeoutMs: 2_000 }), (err: Error) => {
    assert.ok(!err.message.includes(SECRET), err.message);
    assert.match(err.message, /app:\*\*\*@127\.0\.0\.1/);
    return true;
  });
});

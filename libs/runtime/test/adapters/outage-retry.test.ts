import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutageBudgetExceededError, OutageRetry } from '../../src/adapters/blob/outage-retry.js';
import { transientReason } from '../../src/adapters/blob/s3-errors.js';
import { parseS3Env } from '../../src/adapters/blob/s3-env.js';

function retrier(budgetMs: number, lines: string[]): OutageRetry {
  const line = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return new OutageRetry({
    budgetMs,
    baseDelayMs: 5,
    maxDelayMs: 40,
    transientReason: (err) => ((err as { code?: string }).code === 'ECONNREFUSED' ? 'ECONNREFUSED' : undefined),
    service: 'S3 at http://s3.test',
    budgetSetting: 'S3_OUTAGE_BUDGET_SECONDS',
    log: { info: line('info'), warn: line('warn'), error: line('error') },
  });
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

test('OutageRetry rides out transient failures and logs the outage once at start and once at end', async () => {
  const lines: string[] = [];
  const retry = retrier(5_000, lines);
  let calls = 0;
  const flaky = () => (++calls <= 4 ? Promise.reject(refused()) : Promise.resolve('ok'));
  // Two calls in the same outage: one start line, one end line.
  const [a, b] = await Promise.all([retry.run('GetObject a', flaky), retry.run('GetObject b', flaky)]);
  assert.deepEqual([a, b], ['ok', 'ok']);
  assert.equal(lines.filter((l) => /^warn: .*is failing \(ECONNREFUSED on GetObject/.test(l)).length, 1, lines.join('\n'));
  assert.equal(lines.filter((l) => /^info: .*answers again after .* s \(4 failed call/.test(l)).length, 1, lines.join('\n'));
});

test('OutageRetry fails non-transient errors at once, without retrying', async () => {
  const lines: string[] = [];
  let calls = 0;
  const denied = Object.assign(new Error('Access Denied'), { code: 'AccessDenied' });
  await assert.rejects(retrier(5_000, lines).run('PutObject k', () => {
    calls++;
    return Promise.reject(denied);
  }), (err) => err === denied);
  assert.equal(calls, 1);
  assert.deepEqual(lines, []);
});

test('OutageRetry gives up once the outage budget in time is spent, naming the setting', async () => {
  const lines: string[] = [];
  const started = Date.now();
  let calls = 0;
  await assert.rejects(retrier(300, lines).run('PutObject k', () => {
    calls++;
    return Promise.reject(refused());
  }), (err: unknown) => {
    assert.ok(err instanceof OutageBudgetExceededError);
    assert.match(err.message, /S3 at http:\/\/s3\.test kept failing for 0\.[3-9] s \(ECONNREFUSED\) during PutObject k, the whole outage budget of 0\.3 s \(S3_OUTAGE_BUDGET_SECONDS\).*run again to resume/);
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 300 && took < 2_000, `gave up after ${took} ms, not before the budget`);
  assert.ok(calls > 5, `retried ${calls} times within the budget`);
  assert.ok(lines.some((l) => /^error: .*gave up/.test(l)));
});

test('OutageRetry.close stops a call waiting out an outage', async () => {
  const retry = retrier(60_000, []);
  const pending = retry.run('GetObject k', () => Promise.reject(refused()));
  setTimeout(() => retry.close(), 50);
  const started = Date.now();
  await assert.rejects(pending, /ECONNREFUSED/);
  assert.ok(Date.now() - started < 1_000);
});

test('transientReason: network faults, timeouts, 5xx and throttling are transient; 4xx are not', () => {
  const http = (status: number, name = 'Unknown') => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  assert.equal(transientReason(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  assert.equal(transientReason(new Error('wrapped', { cause: Object.assign(new Error('r'), { code: 'ECONNRESET' }) })), 'ECONNRESET');
  assert.equal(transientReason(Object.assign(new Error('t'), { name: 'TimeoutError' })), 'TimeoutError');
  assert.equal(transientReason(http(503, 'ServiceUnavailable')), 'HTTP 503');
  assert.equal(transientReason(http(500, 'InternalError')), 'HTTP 500');
  assert.equal(transientReason(http(429)), 'HTTP 429');
  assert.equal(transientReason(http(400, 'SlowDown')), 'SlowDown');
  assert.equal(transientReason(new Error('aborted')), 'connection cut');
  assert.equal(transientReason(http(403, 'AccessDenied')), undefined);
  assert.equal(transientReason(http(404, 'NoSuchBucket')), undefined);
  assert.equal(transientReason(http(400, 'InvalidArgument')), undefined);
  assert.equal(transientReason(Object.assign(new Error('no creds'), { name: 'CredentialsProviderError' })), undefined);
});

test('S3_OUTAGE_BUDGET_SECONDS and S3_REQUEST_TIMEOUT_SECONDS are read, and bad values name the variable', () => {
  const opts = parseS3Env({ S3_BUCKET: 'b', S3_OUTAGE_BUDGET_SECONDS: '90', S3_REQUEST_TIMEOUT_SECONDS: '5' });
  assert.equal(opts.outageBudgetSeconds, 90);
  assert.equal(opts.requestTimeoutMs, 5_000);
  assert.equal(parseS3Env({ S3_BUCKET: 'b', S3_OUTAGE_BUDGET_SECONDS: '' }).outageBudgetSeconds, undefined);
  assert.throws(() => parseS3Env({ S3_BUCKET: 'b', S3_OUTAGE_BUDGET_SECONDS: 'ten' }), /S3_OUTAGE_BUDGET_SECONDS.*expected seconds/);
  assert.throws(() => parseS3Env({ S3_BUCKET: 'b', S3_OUTAGE_BUDGET_SECONDS: '-1' }), /S3_OUTAGE_BUDGET_SECONDS/);
  assert.throws(() => parseS3Env({ S3_BUCKET: 'b', S3_REQUEST_TIMEOUT_SECONDS: '0' }), /S3_REQUEST_TIMEOUT_SECONDS/);
});

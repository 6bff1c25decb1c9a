import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { parseWorkerEnv } from '../../apps/worker/src/env.js';

/** REDIS_OUTAGE_BUDGET_SECONDS: read by worker and coordinator alike; a bad value names the variable. */
test('REDIS_OUTAGE_BUDGET_SECONDS defaults to 300 s, is read, and a bad value names the variable', async () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:1' };
  assert.equal(parseWorkerEnv(base).REDIS_OUTAGE_BUDGET_SECONDS, 300);
  assert.equal(parseWorkerEnv({ ...base, REDIS_OUTAGE_BUDGET_SECONDS: '45' }).REDIS_OUTAGE_BUDGET_SECONDS, 45);
  for (const bad of ['soon', '0', '100000']) {
    assert.throws(() => parseWorkerEnv({ ...base, REDIS_OUTAGE_BUDGET_SECONDS: bad }), (err: Error) =>
      err instanceof ConfigError && /REDIS_OUTAGE_BUDGET_SECONDS/.test(err.message), bad);
    await assert.rejects(distributedRuntime({ ...base, S3_BUCKET: 'b', REDIS_OUTAGE_BUDGET_SECONDS: bad }), (err: Error) =>
      err instanceof ConfigError && /REDIS_OUTAGE_BUDGET_SECONDS/.test(err.message), bad);
  }
});

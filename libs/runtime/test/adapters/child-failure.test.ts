import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedOutcome } from '../../src/adapters/child-failure.js';
import { OutageBudgetExceededError } from '../../src/adapters/blob/outage-retry.js';
import { NonRetryableError } from '../../src/errors/non-retryable.js';
import { deserializeError, serializeError } from '../../src/pool/messages.js';

test('a child failed by the blob store is coded storage, also after crossing a thread boundary', () => {
  const outage = new OutageBudgetExceededError('S3 kept failing for 60 s');
  assert.deepEqual(failedOutcome('3', outage), { id: '3', ok: false, code: 'storage', error: 'S3 kept failing for 60 s' });
  const crossed = deserializeError(serializeError(outage));
  assert.deepEqual(failedOutcome('3', crossed), { id: '3', ok: false, code: 'storage', error: 'S3 kept failing for 60 s' });
  assert.deepEqual(failedOutcome('3', new NonRetryableError('bad payload')), { id: '3', ok: false, code: 'bad_input', error: 'bad payload' });
  assert.deepEqual(failedOutcome('3', new Error('ECONNRESET')), { id: '3', ok: false, code: 'error', error: 'ECONNRESET' });
});

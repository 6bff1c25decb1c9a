import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFailedReason, encodeFailedReason } from '../../src/adapters/bullmq/failed-reason.js';

test('BullMQ failed reasons: our coded failures round-trip; BullMQ stalls read as stalled; anything else is error', () => {
  assert.deepEqual(decodeFailedReason(encodeFailedReason('bad_input', 'invalid train job payload: round: Too small')), {
    code: 'bad_input',
    error: 'invalid train job payload: round: Too small',
  });
  assert.deepEqual(decodeFailedReason('job stalled more than allowable limit'), { code: 'stalled', error: 'job stalled more than allowable limit' });
  assert.deepEqual(decodeFailedReason('ECONNRESET reading update'), { code: 'error', error: 'ECONNRESET reading update' });
  // text that only looks like ours stays an ordinary error, whole
  for (const text of ['{not json', '{"code":"deadline","message":"m"}', '{"code":"bad_input"}']) {
    assert.deepEqual(decodeFailedReason(text), { code: 'error', error: text });
  }
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startRedis } from '../../../../test/harness/index.js';
import type { RedisHandle } from '../../../../test/harness/index.js';
import { BullmqTransport } from '../../src/adapters/bullmq/transport.js';
import { startBullmqWorkers } from '../../src/adapters/bullmq/workers.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';
import { FlowFailedError } from '../../src/ports/transport.js';
import type { FlowSpec } from '../../src/ports/transport.js';
import { ScriptedHandlers } from './scripted-handlers.js';
import type { ChildScript, ParentSummary } from './scripted-handlers.js';

let redis: RedisHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

function flow(fail: boolean): FlowSpec<UntypedJobs> {
  const child = (id: string, script: ChildScript) => ({ id, kind: 'train' as const, payload: { flow: 'f', child: id, value: Number(id), script } });
  return {
    flowId: 'run.nonce.train.0',
    parent: { kind: 'aggregate', payload: { flow: 'f', ...(fail ? { invalid: true } : {}) } },
    children: [child('0', { do: 'ok' }), child('1', fail ? { do: 'fail' } : { do: 'ok' })],
    deadlineMs: 60_000,
    attempts: 1,
    parentAttempts: 1,
  };
}

test('a flow that failed for good is run again when re-submitted, not answered with its stale failure', async () => {
  const prefix = `${redis.prefix}-rerun`;
  const handlers = new ScriptedHandlers();
  const workers = await startBullmqWorkers<UntypedJobs>({
    connection: redis.url, prefix, keyPrefix: redis.prefix, handlers, pools: ['default'], concurrency: 4, closeTimeoutMs: 2_000, log: silentLogger,
  });
  const options = { connection: redis.url, prefix, keyPrefix: redis.prefix, childBackoffMs: 20, parentBackoffMs: 20, pollIntervalMs: 100, log: silentLogger };
  try {
    // the first coordinator: its round fails (a child for good, then the parent)
    const first = new BullmqTransport<UntypedJobs>(options);
    await assert.rejects(first.runFlow(flow(true)), FlowFailedError);
    await first.close();
    // the re-run, a new process against the same Redis: every job runs again
    const second = new BullmqTransport<UntypedJobs>(options);
    const summary = (await second.runFlow(flow(false))) as ParentSummary;
    await second.close();
    assert.deepEqual(summary.values, [0, 1]);
    assert.deepEqual(handlers.childRuns.get('f/0'), [1, 1]);
    assert.deepEqual(handlers.childRuns.get('f/1'), [1, 1]);
    assert.equal(handlers.parentRuns.get('f'), 2);
  } finally {
    await workers.close();
  }
});

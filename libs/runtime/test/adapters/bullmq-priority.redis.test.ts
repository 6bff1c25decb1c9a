import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startRedis } from '../../../../test/harness/index.js';
import type { RedisHandle } from '../../../../test/harness/index.js';
import { BullmqTransport } from '../../src/adapters/bullmq/transport.js';
import { startBullmqWorkers } from '../../src/adapters/bullmq/workers.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { FlowSpec as TypedFlowSpec } from '../../src/ports/transport.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';

type FlowSpec = TypedFlowSpec<UntypedJobs>;
import { ScriptedHandlers } from './scripted-handlers.js';

let redis: RedisHandle;
let seq = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

function flow(id: string, n: number, priority?: number): FlowSpec {
  return {
    flowId: id,
    parent: { kind: 'aggregate', payload: { flow: id } },
    children: Array.from({ length: n }, (_, i) => ({
      id: String(i),
      kind: 'train' as const,
      payload: { flow: id, child: String(i), value: i, script: { do: 'ok', delayMs: 15 } },
    })),
    deadlineMs: 60_000,
    attempts: 1,
    parentAttempts: 1,
    ...(priority !== undefined ? { priority } : {}),
  };
}

/**
 * One worker slot; a sweep-sized flow (40 children) is queued, then a single run's flow (4
 * children). Returns how many of the big flow's children finished before the small flow's last.
 */
async function bigBeforeSmall(bigPriority: number | undefined): Promise<{ before: number; atSubmit: number }> {
  const prefix = `${redis.prefix}-${++seq}`;
  const handlers = new ScriptedHandlers();
  const transport = new BullmqTransport<UntypedJobs>({
    connection: redis.url, prefix, keyPrefix: redis.prefix, childBackoffMs: 20, parentBackoffMs: 20, pollIntervalMs: 100, log: silentLogger,
  });
  const workers = await startBullmqWorkers<UntypedJobs>({
    connection: redis.url, prefix, keyPrefix: redis.prefix, handlers, pools: ['default'], concurrency: 1, closeTimeoutMs: 2_000, log: silentLogger,
  });
  try {
    const big = transport.runFlow(flow('sweep-run', 40, bigPriority));
    while ([...handlers.childDone].length < 3) await new Promise((r) => setTimeout(r, 10));
    const atSubmit = [...handlers.childDone].length;
    await transport.runFlow(flow('single-run', 4));
    const order = [...handlers.childDone];
    await big;
    const lastSmall = Math.max(...order.map((k, i) => (k.startsWith('single-run/') ? i : -1)));
    return { before: order.slice(0, lastSmall).filter((k) => k.startsWith('sweep-run/')).length, atSubmit };
  } finally {
    await transport.close();
    await workers.close();
  }
}

test('a prioritized (sweep) flow does not hold back an unprioritized run queued after it; without priority it would', async () => {
  const prioritized = await bigBeforeSmall(10);
  // the single run's jobs go next: at most the jobs already taken (one active, one being fetched)
  assert.ok(prioritized.before <= prioritized.atSubmit + 2, JSON.stringify(prioritized));
  const fifo = await bigBeforeSmall(undefined);
  assert.equal(fifo.before, 40, `FIFO: the single run waits for the whole sweep flow (${JSON.stringify(fifo)})`);
});

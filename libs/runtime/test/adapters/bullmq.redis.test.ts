import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startRedis } from '../../../../test/harness/index.js';
import type { RedisHandle } from '../../../../test/harness/index.js';
import { BullmqTransport } from '../../src/adapters/bullmq/transport.js';
import type { BullmqTransportOptions } from '../../src/adapters/bullmq/transport.js';
import { startBullmqWorkers } from '../../src/adapters/bullmq/workers.js';
import type { BullmqWorkersHandle } from '../../src/adapters/bullmq/workers.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { AdapterLogger } from '../../src/adapters/logger.js';
import { TransportUnavailableError } from '../../src/ports/transport.js';
import type { FlowSpec as TypedFlowSpec } from '../../src/ports/transport.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';

type FlowSpec = TypedFlowSpec<UntypedJobs>;
import { ScriptedHandlers } from './scripted-handlers.js';
import type { ParentSummary } from './scripted-handlers.js';
import { transportConformance } from './transport-conformance.js';

let redis: RedisHandle;
let seq = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

const prefixFor = () => `${redis.prefix}-${++seq}`;

function transportOptions(prefix: string, extra: Partial<BullmqTransportOptions> = {}): BullmqTransportOptions {
  return {
    connection: redis.url, prefix, keyPrefix: redis.prefix, chunkSize: 250, childBackoffMs: 20, parentBackoffMs: 20,
    pollIntervalMs: 200, log: silentLogger, ...extra,
  };
}

function workers(prefix: string, handlers: ScriptedHandlers, pools = ['default']): Promise<BullmqWorkersHandle> {
  return startBullmqWorkers<UntypedJobs>({
    connection: redis.url, prefix, keyPrefix: redis.prefix, handlers, pools, concurrency: 16, closeTimeoutMs: 2_000,
    log: silentLogger,
  });
}

// The handlers run in two worker handles (two BullMQ Worker sets, as two processes would).
transportConformance('BullmqTransport', async (handlers) => {
  const prefix = prefixFor();
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const handles = [await workers(prefix, handlers), await workers(prefix, handlers)];
  return {
    transport,
    async close() {
      await transport.close();
      await Promise.all(handles.map((h) => h.close()));
    },
  };
});

function okChild(flow: string, id: string, value: number, pool?: string) {
  return { id, kind: 'train' as const, payload: { flow, child: id, value, script: { do: 'ok' } }, ...(pool ? { pool } : {}) };
}

function spec(flow: string, children: FlowSpec['children'], extra: Partial<FlowSpec> = {}): FlowSpec {
  return { flowId: flow, parent: { kind: 'aggregate', payload: { flow } }, children, deadlineMs: 60_000, attempts: 1, parentAttempts: 1, ...extra };
}

test('BullMQ semantics: a parent with a gate child stays waiting-children after its other children complete, and runs once the gate is removed', async () => {
  const prefix = prefixFor();
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const producer = new FlowProducer({ connection, prefix: redis.prefix });
  const parents = new Queue(`${prefix}-p`, { connection, prefix: redis.prefix });
  const children = new Queue(`${prefix}-c`, { connection, prefix: redis.prefix });
  const gates = new Queue(`${prefix}-g`, { connection, prefix: redis.prefix });
  let parentRuns = 0;
  const childWorker = new Worker(`${prefix}-c`, async () => 'v', { connection, prefix: redis.prefix });
  const parentWorker = new Worker(`${prefix}-p`, async (job) => {
    parentRuns++;
    return Object.keys((await job.getChildrenValues()) ?? {}).length;
  }, { connection, prefix: redis.prefix });
  try {
    await producer.add({ name: 'p', queueName: `${prefix}-p`, opts: { jobId: 'P' }, children: [{ name: 'gate', queueName: `${prefix}-g`, opts: { jobId: 'G' } }] });
    await children.addBulk([1, 2, 3].map((i) => ({ name: 'c', data: {}, opts: { jobId: `c${i}`, parent: { id: 'P', queue: `${redis.prefix}:${prefix}-p` } } })));
    const completed = async () => (await children.getJobCounts('completed'))['completed'] ?? 0;
    for (let i = 0; i < 100 && (await completed()) < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await completed(), 3);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await parents.getJobState('P'), 'waiting-children');
    assert.equal(parentRuns, 0);
    assert.equal(await gates.remove('G'), 1);
    for (let i = 0; i < 100 && (await parents.getJobState('P')) !== 'completed'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await parents.getJobState('P'), 'completed');
    assert.equal((await parents.getJob('P'))?.returnvalue, 3);
    assert.equal(parentRuns, 1);
  } finally {
    await Promise.all([childWorker.close(), parentWorker.close(), producer.close(), parents.close(), children.close(), gates.close()]);
  }
});

test('BullmqTransport: the parent does not start between chunks even when every queued child already finished', async () => {
  const prefix = prefixFor();
  const handlers = new ScriptedHandlers();
  const handle = await workers(prefix, handlers);
  const chunksSeen: number[] = [];
  const flow = `chunks-${seq}`;
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix, {
    chunkSize: 10,
    async afterChunk({ added }) {
      chunksSeen.push(added);
      // let every child queued so far finish before queuing the next chunk
      for (let i = 0; i < 250 && handlers.childDone.size < added; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(handlers.childDone.size, added);
      assert.equal(handlers.parentRuns.get(flow), undefined, 'parent ran before the last chunk was queued');
    },
  }));
  try {
    const ids = Array.from({ length: 35 }, (_, i) => `k${i}`);
    const result = (await transport.runFlow(spec(flow, ids.map((id, i) => okChild(flow, id, i))))) as ParentSummary;
    assert.deepEqual(chunksSeen, [10, 20, 30, 35]);
    assert.deepEqual(result.ids, ids);
    assert.deepEqual(result.errors.filter(Boolean), []);
    assert.equal(handlers.parentRuns.get(flow), 1);
  } finally {
    await transport.close();
    await handle.close();
  }
});

test('BullmqTransport: children routed to a pool no worker serves are removed at the deadline and reported as deadline', async () => {
  const prefix = prefixFor();
  const handlers = new ScriptedHandlers();
  const handle = await workers(prefix, handlers, ['default']);
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const flow = `pools-${seq}`;
  try {
    const running = transport.runFlow(spec(flow, [
      okChild(flow, 'a', 1), okChild(flow, 'b', 2, 'nobody'), okChild(flow, 'c', 3, 'default'),
    ], { deadlineMs: 1500 }));
    let waiting = 0;
    for (let i = 0; i < 50 && waiting === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      waiting = (await transport.queueDepths()).find((d) => d.queue === `${prefix}-train-nobody` && d.state === 'waiting')?.count ?? 0;
    }
    assert.equal(waiting, 1, 'the unserved pool queue should show one waiting job before the deadline');
    const result = (await running) as ParentSummary;
    assert.deepEqual(result.values, [1, null, 3]);
    assert.match(result.errors[1] ?? '', /^deadline/);
    assert.deepEqual(handlers.runsOf(flow, 'b'), []);
    const queue = new Queue(`${prefix}-train-nobody`, { connection: { url: redis.url }, prefix: redis.prefix });
    assert.equal(await queue.getJobCountByTypes('waiting', 'delayed'), 0, 'the detached child should be removed');
    await queue.close();
  } finally {
    await transport.close();
    await handle.close();
  }
});

test('BullmqTransport: a second coordinator re-submitting a running flow waits for it without re-running anything', async () => {
  const prefix = prefixFor();
  const handlers = new ScriptedHandlers();
  const handle = await workers(prefix, handlers);
  const first = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const second = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const flow = `resubmit-${seq}`;
  const children = ['x', 'y', 'z'].map((id, i) => ({ ...okChild(flow, id, i), payload: { flow, child: id, value: i, script: { do: 'ok', delayMs: 300 } } }));
  try {
    const a = first.runFlow(spec(flow, children));
    await new Promise((r) => setTimeout(r, 100));
    const b = second.runFlow(spec(flow, children));
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual(rb, ra);
    const third = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
    assert.deepEqual(await third.runFlow(spec(flow, children)), ra);
    await third.close();
    for (const id of ['x', 'y', 'z']) assert.deepEqual(handlers.runsOf(flow, id), [1]);
    assert.equal(handlers.parentRuns.get(flow), 1);
  } finally {
    await first.close();
    await second.close();
    await handle.close();
  }
});

test('BullmqTransport: a re-submitted flow whose parent failed rejects again without re-running', async () => {
  const prefix = prefixFor();
  const handlers = new ScriptedHandlers();
  const handle = await workers(prefix, handlers);
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const flow = `failed-${seq}`;
  const failing: FlowSpec = { ...spec(flow, [okChild(flow, 'a', 1)]), parent: { kind: 'aggregate', payload: { flow, fail: true } } };
  try {
    await assert.rejects(transport.runFlow(failing), /scripted parent failure/);
    await assert.rejects(transport.runFlow(failing), /scripted parent failure/);
    assert.equal(handlers.parentRuns.get(flow), 1);
  } finally {
    await transport.close();
    await handle.close();
  }
});

test('BullmqTransport: event streams are capped and queue depths are reported per queue and state', async () => {
  const prefix = prefixFor();
  const handlers = new ScriptedHandlers();
  const handle = await workers(prefix, handlers);
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix, { eventsMaxLen: 50, pools: ['default', 'gpu'] }));
  const flow = `streams-${seq}`;
  try {
    await transport.runFlow(spec(flow, Array.from({ length: 300 }, (_, i) => okChild(flow, `s${i}`, i))));
    const client = new Redis(redis.url);
    const childQueue = `${redis.prefix}:${prefix}-train-default`;
    assert.equal(await client.hget(`${childQueue}:meta`, 'opts.maxLenEvents'), '50');
    // XADD MAXLEN ~ trims whole radix-tree nodes (100 entries), so allow some slack over 50
    const len = await client.xlen(`${childQueue}:events`);
    assert.ok(len < 300, `events stream holds ${len} entries`);
    client.disconnect();

    const depths = await transport.queueDepths();
    const queues = [...new Set(depths.map((d) => d.queue))];
    assert.deepEqual(queues, [`${prefix}-aggregate`, `${prefix}-train-default`, `${prefix}-train-gpu`]);
    assert.deepEqual([...new Set(depths.map((d) => d.state))], ['waiting', 'active', 'delayed', 'failed']);
    assert.ok(depths.every((d) => d.count === 0));
    const workerDepths = await handle.queueDepths();
    assert.deepEqual([...new Set(workerDepths.map((d) => d.queue))], [`${prefix}-train-default`, `${prefix}-aggregate`]);
  } finally {
    await transport.close();
    await handle.close();
  }
});

test('startBullmqWorkers: close hands a job that outlives the grace period back to the queue, where another worker finishes it', async () => {
  const prefix = prefixFor();
  const stuck = new ScriptedHandlers();
  const first = await startBullmqWorkers<UntypedJobs>({
    connection: redis.url, prefix, keyPrefix: redis.prefix, handlers: stuck, pools: ['default'], concurrency: 1,
    aggregate: false, closeTimeoutMs: 300, log: silentLogger,
  });
  const transport = new BullmqTransport<UntypedJobs>(transportOptions(prefix));
  const flow = `handback-${seq}`;
  const running = transport.runFlow(spec(flow, [{ id: 'h', kind: 'train', payload: { flow, child: 'h', value: 5, script: { do: 'hang' } } }], { attempts: 1 }));
  let second: BullmqWorkersHandle | undefined;
  try {
    for (let i = 0; i < 250 && stuck.runsOf(flow, 'h').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stuck.runsOf(flow, 'h'), [1]);
    await first.close();
    const attempts: number[] = [];
    second = await startBullmqWorkers<UntypedJobs>({
      connection: redis.url, prefix, keyPrefix: redis.prefix, pools: ['default'], concurrency: 1, log: silentLogger,
      handlers: {
        async runChild(_kind, payload, ctx) {
          attempts.push(ctx.attempt);
          return { value: (payload as { value: number }).value };
        },
        runParent: (kind, payload, outcomes) => stuck.runParent(kind, payload, outcomes),
      },
    });
    const result = (await running) as ParentSummary;
    assert.deepEqual(result.values, [5]);
    // handed back, not failed: the only attempt budget (1) was not spent by the shutdown
    assert.deepEqual(attempts, [1]);
  } finally {
    stuck.release();
    await transport.close();
    await first.close();
    await second?.close();
  }
});

test('BullmqTransport.check: an unreachable Redis fails within seconds, names the URL without its password', async () => {
  const port = await freePort();
  const transport = new BullmqTransport<UntypedJobs>({ connection: `redis://user:hunter2@127.0.0.1:${port}/0`, prefix: 'x', log: silentLogger });
  const started = Date.now();
  await assert.rejects(transport.check(), (err: unknown) => {
    assert.ok(err instanceof TransportUnavailableError);
    assert.ok(err.message.includes(`redis://user:***@127.0.0.1:${port}/0`), err.message);
    assert.ok(!err.message.includes('hunter2'));
    assert.match(err.message, /REDIS_URL/);
    return true;
  });
  assert.ok(Date.now() - started < 10_000);
  await transport.close();
});

test('BullmqTransport.check: passes against the test Redis and warns when maxmemory-policy is not noeviction', async (t) => {
  const warnings: string[] = [];
  const log: AdapterLogger = { ...silentLogger, warn: (m) => warnings.push(m) };
  const transport = new BullmqTransport<UntypedJobs>({ connection: redis.url, prefix: 'x', log });
  await transport.check();
  assert.deepEqual(warnings, []);
  if (process.env['REDIS_URL']) {
    t.diagnostic('skipping the eviction-policy warning case: REDIS_URL is shared');
  } else {
    const client = new Redis(redis.url);
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await transport.check();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? '', /maxmemory-policy 'allkeys-lru'.*noeviction/);
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      client.disconnect();
    }
  }
  await transport.close();
});

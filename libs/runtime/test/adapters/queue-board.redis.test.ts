import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { startRedis } from '../../../../test/harness/index.js';
import type { RedisHandle } from '../../../../test/harness/index.js';
import { createQueueBoard, type QueueBoard } from '../../src/adapters/bullmq/queue-board.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createFedsimMetrics } from '../../src/observability/metrics.js';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/server.js';

let redis: RedisHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

interface BoardQueue { name: string; readOnlyMode: boolean; counts: Record<string, number> }

async function serveBoard(prefix: string, readOnly?: boolean): Promise<{ board: QueueBoard; server: ObservabilityServer; close(): Promise<void> }> {
  const board = createQueueBoard({
    connection: redis.url, prefix, keyPrefix: redis.prefix, discoverEveryMs: 0, log: silentLogger,
    ...(readOnly === undefined ? {} : { readOnly }),
  });
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  const server = await startObservabilityServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, mounts: [board] });
  return {
    board,
    server,
    async close() {
      await server.close();
      await board.close();
    },
  };
}

async function boardQueues(url: string): Promise<BoardQueue[]> {
  const response = await fetch(`${url}/queues/api/queues?page=1&jobsPerPage=10`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { queues: BoardQueue[] }).queues;
}

test('the board lists the aggregate queue, the default pool and pools found in Redis, with job counts', async () => {
  const prefix = `${redis.prefix}-a`;
  const gpu = new Queue(`${prefix}-train-gpu`, { connection: { url: redis.url }, prefix: redis.prefix });
  await gpu.add('train', { clientId: 1 });
  await gpu.add('train', { clientId: 2 });
  const other = new Queue(`${redis.prefix}-other-train-x`, { connection: { url: redis.url }, prefix: redis.prefix });
  await other.add('train', {});
  const { server, close } = await serveBoard(prefix);
  try {
    const page = await fetch(`${server.url}/queues`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<base href="\/queues\/"/);
    const queues = await boardQueues(server.url);
    assert.deepEqual(queues.map((q) => q.name).sort(), [`${prefix}-aggregate`, `${prefix}-train-default`, `${prefix}-train-gpu`]);
    assert.equal(queues.find((q) => q.name === `${prefix}-train-gpu`)?.counts['waiting'], 2);
    assert.ok(queues.every((q) => q.readOnlyMode), 'read-only by default');
    // the metrics endpoints still answer beside the board
    assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
  } finally {
    await close();
    await Promise.all([gpu.close(), other.close()]);
  }
});

test('read-only refuses every action; read-write lets the UI clean a queue', async () => {
  const prefix = `${redis.prefix}-b`;
  const queue = new Queue(`${prefix}-train-default`, { connection: { url: redis.url }, prefix: redis.prefix });
  await queue.add('train', {});
  const readOnly = await serveBoard(prefix);
  try {
    const refused = await fetch(`${readOnly.server.url}/queues/api/queues/${prefix}-train-default/empty`, { method: 'PUT' });
    assert.equal(refused.status, 405);
    assert.equal(await queue.count(), 1);
  } finally {
    await readOnly.close();
  }
  const readWrite = await serveBoard(prefix, false);
  try {
    assert.ok((await boardQueues(readWrite.server.url)).every((q) => !q.readOnlyMode));
    const emptied = await fetch(`${readWrite.server.url}/queues/api/queues/${encodeURIComponent(`${prefix}-train-default`)}/empty`, { method: 'PUT' });
    assert.ok(emptied.status < 300, `empty answered ${emptied.status}`);
    assert.equal(await queue.count(), 0);
  } finally {
    await readWrite.close();
    await queue.close();
  }
});

test('a base path that is not a plain URL path is refused', () => {
  assert.throws(() => createQueueBoard({ connection: redis.url, prefix: 'p', basePath: 'queues/' }), /base path/);
});

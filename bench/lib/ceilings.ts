import { randomFillSync } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { BlobStore } from '@fedsim/runtime';

/** What this machine can do at best, to put our per-round figures in proportion. */
export interface QueueCeiling {
  readonly jobs: number;
  readonly concurrency: number;
  readonly jobsPerSecond: number;
}

export interface BlobCeiling {
  readonly store: string;
  readonly objectBytes: number;
  readonly objects: number;
  readonly putPerSecond: number;
  readonly getPerSecond: number;
  readonly putMiBPerSecond: number;
  readonly getMiBPerSecond: number;
}

/**
 * Plain BullMQ with an empty processor: jobs added in bulk while one worker (the given
 * concurrency) completes them; jobs/s from the first add to the last completion.
 */
export async function bullmqCeiling(redisUrl: string, prefix: string, jobs = 5000, concurrency = 16): Promise<QueueCeiling> {
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const name = `${prefix}-ceiling`;
  const queue = new Queue(name, { connection, prefix });
  let done = 0;
  let resolveAll!: () => void;
  const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
  const worker = new Worker(name, async () => undefined, { connection, prefix, concurrency });
  worker.on('completed', () => {
    if (++done === jobs) resolveAll();
  });
  await worker.waitUntilReady();
  const started = performance.now();
  for (let i = 0; i < jobs; i += 1000) {
    const n = Math.min(1000, jobs - i);
    await queue.addBulk(
      Array.from({ length: n }, (_, j) => ({ name: 'empty', data: { i: i + j }, opts: { removeOnComplete: true } })),
    );
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { jobs, concurrency, jobsPerSecond: jobs / seconds };
}

/** Puts then gets `objects` objects of `objectBytes` each, `concurrency` requests in flight. */
export async function blobCeiling(store: BlobStore, objectBytes: number, objects: number, concurrency = 8): Promise<BlobCeiling> {
  const body = randomFillSync(new Uint8Array(objectBytes));
  const key = (i: number) => `bench-ceiling/${objectBytes}/${i}`;
  const timeAll = async (op: (i: number) => Promise<unknown>) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < objects) await op(next++);
      }),
    );
    return (performance.now() - started) / 1000;
  };
  const putSeconds = await timeAll((i) => store.put(key(i), body));
  const getSeconds = await timeAll((i) => store.get(key(i)));
  await timeAll((i) => store.delete(key(i)));
  const mib = (objects * objectBytes) / 2 ** 20;
  return {
    store: store.describe(),
    objectBytes,
    objects,
    putPerSecond: objects / putSeconds,
    getPerSecond: objects / getSeconds,
    putMiBPerSecond: mib / putSeconds,
    getMiBPerSecond: mib / getSeconds,
  };
}

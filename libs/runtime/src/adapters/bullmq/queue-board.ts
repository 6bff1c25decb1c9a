import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { toLogger, type LogSink } from '../logger.js';
import { createRedisClient, type RedisConnectionInput } from './connection.js';
import { DEFAULT_KEY_PREFIX, DEFAULT_POOL, queueNames } from './naming.js';

export interface QueueBoardOptions {
  readonly connection: RedisConnectionInput;
  /** FEDSIM_QUEUE_PREFIX: the board lists `<prefix>-aggregate` and every `<prefix>-train-<pool>` */
  readonly prefix: string;
  /** BullMQ's Redis key prefix (default 'bull') */
  readonly keyPrefix?: string;
  /** URL path the board is served under (default '/queues') */
  readonly basePath?: string;
  /** default true: no retry, clean, pause or remove buttons, and the API refuses anything but GET */
  readonly readOnly?: boolean;
  /** pools to list before any of their jobs exist (default: the default pool) */
  readonly pools?: readonly string[];
  /** new pools' queues are looked up in Redis at most this often (default 5000 ms) */
  readonly discoverEveryMs?: number;
  readonly log?: LogSink;
}

/** Bull Board for one fedsim queue prefix, as a node:http request handler for its base path. */
export interface QueueBoard {
  readonly basePath: string;
  readonly readOnly: boolean;
  /** true when the request's path is under the board's base path */
  matches(url: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

const BASE_PATH = /^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/;

/**
 * Bull Board (@bull-board/api) through its Hono adapter, turned into a node:http handler by
 * @hono/node-server, so it mounts on the coordinator's existing metrics server without a second
 * HTTP framework or port. Train and eval jobs share a pool's `-train-` queue, so the board lists
 * the aggregate queue and one queue per pool; pools are found in Redis as their queues appear.
 */
export function createQueueBoard(options: QueueBoardOptions): QueueBoard {
  const basePath = options.basePath ?? '/queues';
  if (!BASE_PATH.test(basePath)) throw new Error(`queue board base path '${basePath}' must look like /queues`);
  const readOnly = options.readOnly ?? true;
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const names = queueNames(options.prefix);
  const log = toLogger(options.log);
  const discoverEveryMs = options.discoverEveryMs ?? 5000;

  let redis: Redis | undefined;
  const connection = () => (redis ??= createRedisClient(options.connection, { maxRetriesPerRequest: null }));
  const queues = new Map<string, Queue>();
  const adapterFor = (name: string, description: string): BullMQAdapter => {
    const queue = new Queue(name, { connection: connection(), prefix: keyPrefix });
    queue.on('error', (err) => log.warn(`queue board: queue ${name}: ${err.message}`));
    queues.set(name, queue);
    return new BullMQAdapter(queue, { readOnlyMode: readOnly, description });
  };
  const poolDescription = (pool: string) => `train and eval jobs of worker pool '${pool}'`;

  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(basePath);
  const board = createBullBoard({
    queues: [
      adapterFor(names.aggregate, 'aggregation and evaluation-summary jobs (one per round and experiment)'),
      ...[...new Set(options.pools ?? [DEFAULT_POOL])].sort().map((pool) => adapterFor(names.child(pool), poolDescription(pool))),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: `fedsim queues (${options.prefix})` } },
  });
  const app = new Hono();
  app.route(basePath, serverAdapter.registerPlugin());
  // overrideGlobalObjects would swap the process's global Request/Response for Hono's own
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });

  // Pools come and go with experiments (FIARSE capacity classes, GPU pools): list every
  // `<prefix>-train-<pool>` queue Redis knows, found by its BullMQ meta hash.
  const childPrefix = names.child(DEFAULT_POOL).slice(0, -DEFAULT_POOL.length);
  let lastDiscovery = 0;
  let discovering: Promise<void> | undefined;
  const discover = async (): Promise<void> => {
    const pattern = `${keyPrefix}:${childPrefix}*:meta`;
    let cursor = '0';
    do {
      const [next, keys] = await connection().scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const name = key.slice(keyPrefix.length + 1, -':meta'.length);
        const pool = name.slice(childPrefix.length);
        if (queues.has(name) || !/^[A-Za-z0-9_-]{1,64}$/.test(pool)) continue;
        board.addQueue(adapterFor(name, poolDescription(pool)));
      }
    } while (cursor !== '0');
  };
  const refreshQueues = async (): Promise<void> => {
    if (Date.now() - lastDiscovery < discoverEveryMs) return;
    discovering ??= discover()
      .then(() => {
        lastDiscovery = Date.now();
      })
      .catch((err: unknown) => log.warn(`queue board: listing pools in Redis failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        discovering = undefined;
      });
    await discovering;
  };

  const matches = (url: string): boolean => {
    const path = url.split('?')[0] ?? '';
    return path === basePath || path.startsWith(`${basePath}/`);
  };

  return {
    basePath,
    readOnly,
    matches,
    async handle(req, res) {
      if (readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
        res.end('the queue board is read-only (FEDSIM_QUEUE_BOARD=read-write allows actions)\n');
        return;
      }
      await refreshQueues();
      await listener(req, res);
    },
    async close() {
      await discovering;
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      redis?.disconnect();
    },
  };
}

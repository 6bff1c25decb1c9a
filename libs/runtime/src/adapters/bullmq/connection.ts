import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { TransportUnavailableError } from '../../ports/transport.js';
import { toLogger } from '../logger.js';
import type { LogSink } from '../logger.js';
import { maskSecrets } from '../redact.js';

/** A Redis URL (redis://, rediss://) or ioredis options, optionally with a `url` field. */
export type RedisConnectionInput = string | (RedisOptions & { readonly url?: string });
export type RedisConnectionOptions = RedisOptions & { url?: string };

export function toConnectionOptions(input: RedisConnectionInput): RedisConnectionOptions {
  if (typeof input === 'string') {
    if (!/^rediss?:\/\//.test(input)) {
      throw new TransportUnavailableError(`Redis URL '${maskSecrets(input)}' must start with redis:// or rediss:// (check REDIS_URL)`);
    }
    return { url: input };
  }
  return { ...input };
}

/** ioredis client for `input` with extra options layered on top. */
export function createRedisClient(input: RedisConnectionInput, extra: RedisOptions = {}): Redis {
  const { url, ...rest } = toConnectionOptions(input);
  return url ? new Redis(url, { ...rest, ...extra }) : new Redis({ ...rest, ...extra });
}

export function describeRedis(input: RedisConnectionInput): string {
  const o = toConnectionOptionsLoose(input);
  if (o.url) return maskSecrets(o.url);
  const scheme = o.tls ? 'rediss' : 'redis';
  const auth = o.password ? `${o.username ?? ''}:***@` : '';
  return `${scheme}://${auth}${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

function toConnectionOptionsLoose(input: RedisConnectionInput): RedisConnectionOptions {
  return typeof input === 'string' ? { url: input } : input;
}

export interface CheckRedisOptions {
  readonly timeoutMs?: number;
  readonly log?: LogSink;
}

/**
 * Connects once with a short timeout and no reconnect loop, pings, and warns when Redis may
 * evict keys (BullMQ loses jobs silently under any maxmemory-policy but noeviction).
 */
export async function checkRedis(input: RedisConnectionInput, options: CheckRedisOptions = {}): Promise<void> {
  const where = describeRedis(input);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const client = createRedisClient(input, {
    lazyConnect: true,
    connectTimeout: Math.min(3_000, timeoutMs),
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    reconnectOnError: () => false,
  });
  let lastSocketError: Error | undefined;
  let connected = false;
  client.on('error', (err: Error) => { lastSocketError = err; });
  client.on('connect', () => { connected = true; });
  let timer: NodeJS.Timeout | undefined;
  try {
    const probe = (async () => {
      await client.connect();
      await client.ping();
      return client.info('memory');
    })();
    probe.catch(() => undefined);
    const info = await Promise.race([
      probe,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy && policy !== 'noeviction') {
      toLogger(options.log).warn(`Redis at ${where} has maxmemory-policy '${policy}'; BullMQ needs 'noeviction' or `
        + 'it may silently lose jobs under memory pressure (set maxmemory-policy noeviction)', { redis: where, policy });
    }
  } catch (err) {
    const cause = lastSocketError ?? err;
    const detail = (cause as Error).message ?? String(cause);
    if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(detail)) {
      throw new TransportUnavailableError(`Redis at ${where} rejected the credentials (${detail}); `
        + 'check the user and password in REDIS_URL', { cause });
    }
    if (connected && !lastSocketError) {
      throw new TransportUnavailableError(`Redis at ${where} accepts connections but does not answer (${detail}); `
        + 'check that REDIS_URL points at a Redis server, that it is not stuck (e.g. a long-running command or a full disk), '
        + 'and whether it needs TLS (rediss://)', { cause });
    }
    throw new TransportUnavailableError(`Redis at ${where} is unreachable (${detail}); check REDIS_URL `
      + 'and that Redis is running (e.g. `docker compose up -d redis`, or `redis-server`)', { cause });
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { maskSecrets } from '@fedsim/runtime/adapters';
import { freePort, randomSuffix } from './net.js';

export interface RedisHandle {
  /** redis://127.0.0.1:<port> (or REDIS_URL) */
  readonly url: string;
  /** unique per call: use it as the queue/key prefix so tests sharing a server never collide */
  readonly prefix: string;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;

/**
 * A Redis for one test file: REDIS_URL when set (keys under a fresh prefix, deleted on stop),
 * else a private `redis-server` on a free loopback port, configured like production wants it
 * (no persistence, `noeviction`), killed on stop.
 */
export async function startRedis(): Promise<RedisHandle> {
  const prefix = `fedsimtest${randomSuffix()}`;
  const external = process.env['REDIS_URL'];
  if (external) return useExternal(external, prefix);
  return spawnServer(prefix);
}

async function useExternal(url: string, prefix: string): Promise<RedisHandle> {
  await pingOnce(url).catch((err: unknown) => {
    throw new Error(`REDIS_URL is set but ${maskSecrets(url)} does not answer PING: ${(err as Error).message}. `
      + 'Start that Redis or unset REDIS_URL to let the tests spawn redis-server.', { cause: err });
  });
  return {
    url,
    prefix,
    async stop() {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await client.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}

async function spawnServer(prefix: string): Promise<RedisHandle> {
  let lastError: unknown;
  // A free port can be taken between probing and binding; try a few.
  for (let tryNo = 0; tryNo < 3; tryNo++) {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'fedsim-redis-'));
    const child = spawn(REDIS_SERVER, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => undefined);
    const url = `redis://127.0.0.1:${port}`;
    try {
      await Promise.race([waitForPing(url, () => child.exitCode !== null), spawnError]);
      return {
        url,
        prefix,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(killTimer);
          }
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`REDIS_URL is not set and '${REDIS_SERVER}' was not found. Install Redis `
          + '(Debian: apt-get install redis-server) or set REDIS_URL=redis://host:6379 to use a running one.');
      }
      lastError = new Error(`${(err as Error).message}; redis-server output: ${output.trim().slice(-500)}`);
    }
  }
  throw new Error(`could not start redis-server: ${(lastError as Error).message}`, { cause: lastError });
}

async function waitForPing(url: string, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error('redis-server exited during startup');
    try {
      await pingOnce(url);
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms: ${(lastError as Error | undefined)?.message}`);
}

async function pingOnce(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}


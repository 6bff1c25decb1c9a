import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TransportUnavailableError } from '../../errors/transport.js';
import { backoffDelayMs, seconds } from '../blob/outage-retry.js';
import type { AdapterLogger } from '../logger.js';
import { sleep } from '../sleep.js';
import { createRedisClient, describeRedis } from './connection.js';
import type { RedisConnectionInput } from './connection.js';

/** The setting that bounds a Redis outage, named in every message about one. */
export const REDIS_OUTAGE_BUDGET_SETTING = 'REDIS_OUTAGE_BUDGET_SECONDS';
/** Default budget: minutes, like S3's, so a Redis restart or failover is ridden out. */
export const DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS = 300;

/** REDIS_OUTAGE_BUDGET_SECONDS in an app's environment schema (coordinator and worker alike). */
export const redisOutageBudgetSecondsSchema = z.coerce
  .number({ error: 'must be a number of seconds, e.g. 300' })
  .min(1, 'must be at least 1 second')
  .max(86_400, 'must be at most 86400 seconds (a day)')
  .default(DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS);

export class RedisOutageBudgetExceededError extends TransportUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'RedisOutageBudgetExceededError';
  }
}

export interface RedisOutageWatchOptions {
  readonly connection: RedisConnectionInput;
  /** how long Redis may stay unreachable before the watch gives up */
  readonly budgetMs: number;
  readonly log: AdapterLogger;
  /** what stops when the budget is over, for the message (e.g. 'the run stops') */
  readonly consequence: string;
  /** pause between probes while Redis answers (default 1 s) */
  readonly intervalMs?: number;
  /** a probe with no answer after this long counts as a failure (default 3 s) */
  readonly probeTimeoutMs?: number;
}

/**
 * Bounds a Redis outage in time. BullMQ's and ioredis's own connections reconnect on their own,
 * for ever; this watch pings Redis on a connection of its own (every second while it answers,
 * with capped exponential backoff while it does not), logs once when an outage starts and once
 * when it ends, and past the budget settles `exceeded` with an error naming the setting, so the
 * process can stop with a clear message instead of waiting for ever.
 *
 * Hand-rolled: ioredis's retryStrategy counts attempts per connection and says nothing about
 * how long the service has been gone across the several connections BullMQ opens.
 */
export class RedisOutageWatch {
  /** settles (rejects) once, when an outage outlasts the budget; never resolves */
  readonly exceeded: Promise<never>;
  private reject!: (err: RedisOutageBudgetExceededError) => void;
  private readonly stopping = new AbortController();
  private readonly where: string;
  private client?: Redis;
  private lastError?: Error;
  private outageSince: number | undefined;
  private loop?: Promise<void>;

  constructor(private readonly options: RedisOutageWatchOptions) {
    this.where = describeRedis(options.connection);
    this.exceeded = new Promise<never>((_, reject) => { this.reject = reject; });
    this.exceeded.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  }

  /** Whether Redis is failing right now (as of the last probe). */
  get down(): boolean {
    return this.outageSince !== undefined;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    this.client?.disconnect();
  }

  private async run(): Promise<void> {
    const { budgetMs, log } = this.options;
    for (let retry = 0; !this.stopping.signal.aborted;) {
      const reason = await this.probe();
      if (this.stopping.signal.aborted) return;
      const now = Date.now();
      if (reason === undefined) {
        if (this.outageSince !== undefined) {
          log.info(`Redis at ${this.where} answers again after ${seconds(now - this.outageSince)} s`, { outageSeconds: (now - this.outageSince) / 1000 });
        }
        this.outageSince = undefined;
        retry = 0;
        await sleep(this.options.intervalMs ?? 1_000, this.stopping.signal);
        continue;
      }
      if (this.outageSince === undefined) {
        this.outageSince = now;
        log.warn(`Redis at ${this.where} is unreachable (${reason}); reconnecting with backoff for up to `
          + `${seconds(budgetMs)} s (${REDIS_OUTAGE_BUDGET_SETTING})`, { reason });
      }
      const down = now - this.outageSince;
      if (down >= budgetMs) {
        const message = `Redis at ${this.where} has been unreachable for ${seconds(down)} s (${reason}), the whole outage `
          + `budget of ${seconds(budgetMs)} s (${REDIS_OUTAGE_BUDGET_SETTING}); ${this.options.consequence}. Bring Redis back `
          + '(or raise the budget) and run again to resume';
        log.error(message, { reason });
        this.reject(new RedisOutageBudgetExceededError(message));
        return;
      }
      // The last wait ends at the budget, so Redis back just in time is still caught.
      await sleep(Math.min(backoffDelayMs(retry++), budgetMs - down), this.stopping.signal);
    }
  }

  /** undefined when Redis answered a PING, else a short reason */
  private async probe(): Promise<string | undefined> {
    const timeoutMs = this.options.probeTimeoutMs ?? 3_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          if (this.client?.status !== 'ready') await this.reconnect(timeoutMs);
          await this.client!.ping();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${seconds(timeoutMs)} s`)), timeoutMs);
        }),
      ]);
      this.lastError = undefined;
      return undefined;
    } catch (err) {
      // a silent server leaves the connection open: start from a fresh one next time
      this.client?.disconnect();
      const cause = this.lastError ?? (err as Error);
      this.lastError = undefined;
      return (cause as NodeJS.ErrnoException).code ?? cause.message;
    } finally {
      clearTimeout(timer);
    }
  }

  private async reconnect(timeoutMs: number): Promise<void> {
    this.client?.disconnect();
    const client = createRedisClient(this.options.connection, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // this watch is the reconnect loop
      retryStrategy: () => null,
    });
    client.on('error', (err: Error) => { this.lastError = err; });
    this.client = client;
    await client.connect();
  }
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|connect ETIMEDOUT|Socket closed/i;

/** Whether a BullMQ/ioredis error only says the connection is down (the watch reports those once). */
export const isRedisConnectionError = (err: Error): boolean => CONNECTION_ERROR.test(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`);

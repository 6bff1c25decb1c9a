import { BlobStoreUnavailableError } from '../../ports/blob-store.js';
import type { AdapterLogger } from '../logger.js';

export interface OutageRetryOptions {
  /** how long one operation keeps retrying transient failures before it gives up */
  readonly budgetMs: number;
  /** first backoff (default 200 ms); each further retry doubles it up to maxDelayMs (default 5 s), jittered */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** a short label when the failure is worth retrying, undefined when it is not */
  readonly transientReason: (err: unknown) => string | undefined;
  /** e.g. 'S3 at http://minio:9000' (already free of credentials) */
  readonly service: string;
  /** the setting that sets the budget, named in messages */
  readonly budgetSetting: string;
  readonly log: AdapterLogger;
}

/** ms as seconds for messages: one decimal below 10 s */
export const seconds = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);

/**
 * Capped exponential backoff with "equal jitter": at least half the step, so many clients
 * retrying together spread out without any of them hammering the service in a tight loop.
 */
export function backoffDelayMs(retry: number, baseMs = 200, capMs = 5_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retry, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Thrown when a transient fault lasted longer than the outage budget. */
export class OutageBudgetExceededError extends BlobStoreUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutageBudgetExceededError';
  }
}

/**
 * Retries calls through a service outage for a budget in time, not a number of tries: a 10 s
 * blip costs 10 s, not the run. One instance per client, so an outage is logged once when it
 * starts (the first transient failure) and once when it ends (the first success after it), however
 * many calls were waiting on it.
 *
 * Hand-rolled rather than p-retry & co.: those count attempts, and the outage start/end state
 * shared across concurrent calls is the point here.
 */
export class OutageRetry {
  private outageSince: number | undefined;
  private failuresInOutage = 0;
  private readonly closing = new AbortController();

  constructor(private readonly options: OutageRetryOptions) {}

  async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    let firstFailure: number | undefined;
    for (let retry = 0; ; retry++) {
      try {
        const value = await call();
        this.recovered(Date.now());
        return value;
      } catch (err) {
        const reason = this.options.transientReason(err);
        if (reason === undefined || this.closing.signal.aborted) throw err;
        const at = Date.now();
        firstFailure ??= at;
        this.failing(at, operation, reason);
        const waited = at - firstFailure;
        if (waited >= this.options.budgetMs) {
          const budget = seconds(this.options.budgetMs);
          this.options.log.error(`${this.options.service}: ${operation} gave up after ${seconds(waited)} s of `
            + `transient failures (${reason}); the outage budget is ${budget} s`, { operation, reason });
          throw new OutageBudgetExceededError(`${this.options.service} kept failing for ${seconds(waited)} s `
            + `(${reason}) during ${operation}, the whole outage budget of ${budget} s `
            + `(${this.options.budgetSetting}); bring the service back (or raise the budget) and run again to resume`,
          { cause: err });
        }
        // The last wait ends at the budget, so a service back just in time is still caught.
        await this.sleep(Math.min(this.delayMs(retry), this.options.budgetMs - waited));
      }
    }
  }

  /** Stops retrying: sleeping calls fail with their last error at once. */
  close(): void {
    this.closing.abort();
  }

  private failing(at: number, operation: string, reason: string): void {
    this.failuresInOutage++;
    if (this.outageSince !== undefined) return;
    this.outageSince = at;
    this.options.log.warn(`${this.options.service} is failing (${reason} on ${operation}); retrying with backoff `
      + `for up to ${seconds(this.options.budgetMs)} s (${this.options.budgetSetting})`, { operation, reason });
  }

  private recovered(at: number): void {
    if (this.outageSince === undefined) return;
    const seconds = ((at - this.outageSince) / 1000).toFixed(1);
    this.options.log.info(`${this.options.service} answers again after ${seconds} s `
      + `(${this.failuresInOutage} failed call(s) retried)`, { outageSeconds: Number(seconds) });
    this.outageSince = undefined;
    this.failuresInOutage = 0;
  }

  private delayMs(retry: number): number {
    return backoffDelayMs(retry, this.options.baseDelayMs, this.options.maxDelayMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done, { once: true });
    });
  }
}

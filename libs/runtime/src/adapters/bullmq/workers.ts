import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { isNonRetryable } from '../../errors/non-retryable.js';
import { isStorageUnavailable } from '../../errors/store.js';
import type { Jobs, JobShapes, UntypedJobs } from '../../jobs/catalog.js';
import type { ChildOutcome, JobHandlers } from '../../ports/transport.js';
import { deadlineError, errorMessage } from '../child-failure.js';
import { toLogger } from '../logger.js';
import type { AdapterLogger, LogSink } from '../logger.js';
import type { QueueDepthSource } from '../queue-depth.js';
import { toConnectionOptions } from './connection.js';
import type { RedisConnectionInput } from './connection.js';
import { decodeFailedReason, encodeFailedReason } from './failed-reason.js';
import { ChildJobData, ParentJobData } from './job-data.js';
import { DEFAULT_KEY_PREFIX, jobIdOfKey, jobIds, queueNames } from './naming.js';
import { readQueueDepths } from './queue-depths.js';
import { DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS, isRedisConnectionError, RedisOutageWatch } from './redis-outage.js';
import { sleep } from '../sleep.js';

/** how long close() still lets BullMQ shut down gracefully once no job is running */
const IDLE_CLOSE_MS = 1_000;

export interface BullmqWorkersOptions<J extends JobShapes = Jobs> {
  readonly connection: RedisConnectionInput;
  /** the coordinator's queue-name prefix */
  readonly prefix: string;
  /** BullMQ's Redis key prefix (default 'bull') */
  readonly keyPrefix?: string;
  /** runs the jobs; must keep CPU work off this event loop (ThreadPoolHandlers does) */
  readonly handlers: JobHandlers<J>;
  /** pools whose child queues this process serves (e.g. ['default'] or ['gpu']) */
  readonly pools: readonly string[];
  /** child jobs per pool in flight at once */
  readonly concurrency: number;
  /** also serve the aggregate queue (default true) */
  readonly aggregate?: boolean;
  readonly aggregateConcurrency?: number;
  /** BullMQ lock duration; renewed every half of it while a job runs (default 30 s) */
  readonly lockDurationMs?: number;
  /** how long close() lets running jobs finish before handing them back to the queue (default 30 s) */
  readonly closeTimeoutMs?: number;
  readonly eventsMaxLen?: number;
  /** how long Redis may stay unreachable before `redisLost` rejects (default 300 s; REDIS_OUTAGE_BUDGET_SECONDS) */
  readonly redisOutageBudgetMs?: number;
  readonly log?: LogSink;
}

export interface BullmqWorkersHandle extends QueueDepthSource {
  /** the queues this process consumes */
  readonly queues: readonly string[];
  /** rejects when Redis stays unreachable past the outage budget (the process should then exit); never resolves */
  readonly redisLost: Promise<never>;
  /** Stops taking jobs, lets running ones finish within closeTimeoutMs, then hands the rest back. */
  close(): Promise<void>;
}

interface RunningJob {
  readonly job: Job;
  readonly token: string | undefined;
}

/**
 * BullMQ workers for one process: one Worker per pool's child queue and (optionally) one for
 * the aggregate queue. Processors only await the handlers, so BullMQ's lock renewal keeps
 * running on this event loop while the work happens elsewhere.
 */
export async function startBullmqWorkers<J extends JobShapes = Jobs>(options: BullmqWorkersOptions<J>): Promise<BullmqWorkersHandle> {
  // Workers move payloads and replies; the handlers validate them.
  const handlers: JobHandlers<UntypedJobs> = options.handlers;
  const names = queueNames(options.prefix);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const log: AdapterLogger = toLogger(options.log);
  if (options.pools.length === 0 && options.aggregate === false) throw new Error('startBullmqWorkers: no pools and no aggregate queue to serve');
  const connection = { ...toConnectionOptions(options.connection), maxRetriesPerRequest: null };
  const running = new Map<string, RunningJob>();
  const workerOpts = {
    connection,
    prefix: keyPrefix,
    lockDuration: options.lockDurationMs ?? 30_000,
    autorun: false,
  };

  // Resolved whenever the last running job ends, so close() need not wait for BullMQ's own
  // shutdown (which, after a Redis blip, can sit out the whole grace period with nothing to do).
  let idleWaiters: (() => void)[] = [];
  const untrack = (key: string) => {
    running.delete(key);
    if (running.size > 0) return;
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };
  const idle = () => (running.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));

  const childProcessor = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const parsed = ChildJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed child job data: ${parsed.error.message}`);
    const { kind, payload } = parsed.data;
    const jobId = job.id ?? jobIds.child(parsed.data.flowId, parsed.data.childId);
    running.set(`${job.queueName}/${jobId}`, { job, token });
    try {
      const value = await handlers.runChild(kind, payload, {
        attempt: job.attemptsMade + 1,
        jobId,
        ...(signal ? { signal } : {}),
      });
      // BullMQ stores JSON; `undefined` would not survive the parent's parse of its children's values.
      return value === undefined ? null : value;
    } catch (err) {
      // BullMQ skips the remaining attempts of an UnrecoverableError.
      if (isNonRetryable(err)) throw new UnrecoverableError(encodeFailedReason('bad_input', errorMessage(err)));
      // still retried (the store may be back), but coded so the parent does not blame the client
      if (isStorageUnavailable(err)) throw new Error(encodeFailedReason('storage', errorMessage(err)));
      throw err;
    } finally {
      untrack(`${job.queueName}/${jobId}`);
    }
  };

  const parentProcessor = async (job: Job, token?: string): Promise<unknown> => {
    const key = `${job.queueName}/${job.id ?? ''}`;
    running.set(key, { job, token });
    try {
      return await runParentJob(job);
    } finally {
      untrack(key);
    }
  };

  const runParentJob = async (job: Job): Promise<unknown> => {
    const parsed = ParentJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed parent job data: ${parsed.error.message}`);
    const data = parsed.data;
    const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
    const byJobId = new Map<string, ChildOutcome>();
    for (const [key, value] of Object.entries(values ?? {})) byJobId.set(jobIdOfKey(key), { id: '', ok: true, value });
    for (const [key, reason] of Object.entries(failures ?? {})) {
      byJobId.set(jobIdOfKey(key), { id: '', ok: false, ...decodeFailedReason(reason) });
    }
    const outcomes: ChildOutcome[] = data.childIds.map((id) => {
      const found = byJobId.get(jobIds.child(data.flowId, id));
      return found ? { ...found, id } : { id, ok: false, code: 'deadline', error: deadlineError(data.deadlineMs) };
    });
    try {
      const value = await handlers.runParent(data.kind, data.payload, outcomes);
      return value === undefined ? null : value;
    } catch (err) {
      if (isNonRetryable(err)) throw new UnrecoverableError(errorMessage(err));
      throw err;
    }
  };

  const workers: Worker[] = [];
  const queueNamesServed: string[] = [];
  for (const pool of new Set(options.pools)) {
    const name = names.child(pool);
    queueNamesServed.push(name);
    workers.push(new Worker(name, childProcessor, { ...workerOpts, concurrency: options.concurrency }));
  }
  if (options.aggregate ?? true) {
    queueNamesServed.push(names.aggregate);
    workers.push(new Worker(names.aggregate, parentProcessor, { ...workerOpts, concurrency: options.aggregateConcurrency ?? 1 }));
  }
  // Logs an outage once at its start and once at its end, instead of every reconnect of every connection.
  const outage = new RedisOutageWatch({
    connection: options.connection,
    budgetMs: options.redisOutageBudgetMs ?? DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS * 1000,
    log,
    consequence: 'the worker stops; its unfinished jobs are rerun by other workers once Redis is back',
  });
  for (const worker of workers) {
    worker.on('error', (err) => {
      if (!isRedisConnectionError(err)) log.error(`worker ${worker.name}: ${err.message}`, { queue: worker.name });
    });
    // A job whose worker died or froze past its lock: BullMQ hands it back to the queue to run again.
    worker.on('stalled', (jobId) => log.warn(`job ${jobId} in ${worker.name} stalled (its worker stopped renewing the lock); `
      + 'returned to the queue to run again', { queue: worker.name, jobId }));
    worker.on('failed', (job, err) => {
      if (!job) return;
      log.warn(`job ${job.id} in ${worker.name} failed on attempt ${job.attemptsMade}: ${err.message}`,
        { queue: worker.name, jobId: job.id, attempt: job.attemptsMade });
    });
  }
  // Queue handles for depth gauges; creating them also caps the event streams.
  const queues = queueNamesServed.map((name) => new Queue(name, {
    connection, prefix: keyPrefix, streams: { events: { maxLen: options.eventsMaxLen ?? 1000 } },
  }));
  for (const q of queues) q.on('error', (err) => isRedisConnectionError(err) || log.warn(`queue ${q.name}: ${err.message}`));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  outage.start();
  for (const worker of workers) {
    worker.run().catch((err: unknown) => log.error(`worker ${worker.name} stopped: ${(err as Error).message}`));
  }

  let closing: Promise<void> | undefined;
  return {
    queues: queueNamesServed,
    redisLost: outage.exceeded,
    queueDepths: () => readQueueDepths(queues),
    close() {
      closing ??= (async () => {
        const timeoutMs = options.closeTimeoutMs ?? 30_000;
        const stopWatch = outage.close();
        const graceful = Promise.all(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          graceful.then(() => 'closed' as const),
          idle().then(() => 'idle' as const),
          new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); }),
        ]);
        clearTimeout(timer);
        if (outcome === 'idle') {
          // No job left running: give BullMQ's graceful close a moment, then force it (an idle worker
          // loses nothing). After a Redis blip even a forced close can wait on connections still
          // reconnecting, so neither is awaited past IDLE_CLOSE_MS: the process is about to exit.
          const settled = await Promise.race([graceful.then(() => true), sleep(IDLE_CLOSE_MS).then(() => false)]);
          if (!settled) await Promise.race([Promise.allSettled(workers.map((w) => w.close(true))), sleep(IDLE_CLOSE_MS)]);
          await Promise.race([Promise.allSettled(queues.map((q) => q.close())), sleep(IDLE_CLOSE_MS)]);
          await stopWatch;
          return;
        }
        if (outcome === 'timeout') {
          log.warn(`workers did not finish ${running.size} job(s) within ${timeoutMs} ms; returning them to their queues`);
          await Promise.allSettled([...running.values()].map(({ job, token }) => job.moveToWait(token)));
          for (const worker of workers) worker.cancelAllJobs('worker shutting down');
          await Promise.allSettled(workers.map((w) => w.close(true)));
        }
        await Promise.allSettled(queues.map((q) => q.close()));
        await stopWatch;
      })();
      return closing;
    },
  };
}

import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { isNonRetryable } from '../../errors/non-retryable.js';
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
  readonly log?: LogSink;
}

export interface BullmqWorkersHandle extends QueueDepthSource {
  /** the queues this process consumes */
  readonly queues: readonly string[];
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
      throw err;
    } finally {
      running.delete(`${job.queueName}/${jobId}`);
    }
  };

  const parentProcessor = async (job: Job): Promise<unknown> => {
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
  for (const worker of workers) {
    worker.on('error', (err) => log.error(`worker ${worker.name}: ${err.message}`, { queue: worker.name }));
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
  for (const q of queues) q.on('error', (err) => log.warn(`queue ${q.name}: ${err.message}`));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  for (const worker of workers) {
    worker.run().catch((err: unknown) => log.error(`worker ${worker.name} stopped: ${(err as Error).message}`));
  }

  let closing: Promise<void> | undefined;
  return {
    queues: queueNamesServed,
    queueDepths: () => readQueueDepths(queues),
    close() {
      closing ??= (async () => {
        const timeoutMs = options.closeTimeoutMs ?? 30_000;
        const graceful = Promise.all(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          log.warn(`workers did not finish ${running.size} job(s) within ${timeoutMs} ms; returning them to their queues`);
          await Promise.allSettled([...running.values()].map(({ job, token }) => job.moveToWait(token)));
          for (const worker of workers) worker.cancelAllJobs('worker shutting down');
          await Promise.allSettled(workers.map((w) => w.close(true)));
        }
        await Promise.allSettled(queues.map((q) => q.close()));
      })();
      return closing;
    },
  };
}

import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { toConnectionOptions } from './connection.js';
import type { RedisConnectionInput } from './connection.js';
import { DEFAULT_KEY_PREFIX } from './naming.js';

/**
 * Cron schedules for sweeps on BullMQ job schedulers. Only the service process (`fedsim
 * serve`) owns a ScheduleHost and so calls upsertJobScheduler/removeJobScheduler, one control
 * request at a time: concurrent upserts from several processes are what creates duplicate or lost
 * schedulers (BullMQ issues #2988, #3085, #3381). `fedsim schedule ...` sends requests to it
 * through a control queue (ScheduleClient) and waits for the answer.
 */

export const schedulePolicySchema = z.enum(['skip', 'queue']);
export type SchedulePolicy = z.infer<typeof schedulePolicySchema>;

export const scheduleNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'letters, digits, dash and underscore; at most 40 characters');

export const scheduleSpecSchema = z.object({
  name: scheduleNameSchema,
  /** cron pattern (5 fields, or 6 with seconds first) */
  cron: z.string().min(1),
  /** IANA time zone the pattern is read in */
  tz: z.string().min(1),
  /** when a firing finds the previous instance still running: skip it (recorded) or start after it */
  policy: schedulePolicySchema,
  /** what each firing runs (opaque here: the service validates it) */
  payload: z.unknown(),
});
export type ScheduleSpec = z.infer<typeof scheduleSpecSchema>;

export interface ScheduleInfo {
  readonly name: string;
  readonly cron: string;
  readonly tz: string;
  readonly policy: SchedulePolicy;
  /** next firing, ms since the epoch */
  readonly next: number | null;
}

/** One firing: the schedule, and the time it was due (not the time it ran). */
export interface Firing {
  readonly schedule: string;
  readonly scheduledAt: number;
  readonly policy: SchedulePolicy;
  readonly payload: unknown;
}

const controlRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), schedule: scheduleSpecSchema }),
  z.object({ op: z.literal('remove'), name: scheduleNameSchema }),
  z.object({ op: z.literal('list') }),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;

const firingDataSchema = z.object({ schedule: scheduleNameSchema, policy: schedulePolicySchema, payload: z.unknown() });

export interface ScheduleQueuesOptions {
  readonly connection: RedisConnectionInput;
  /** queue-name prefix (FEDSIM_QUEUE_PREFIX) */
  readonly prefix: string;
  readonly keyPrefix?: string;
}

const names = (prefix: string) => ({ control: `${prefix}-schedule-control`, firings: `${prefix}-schedule-firings` });
const connectionOf = (o: ScheduleQueuesOptions) => ({ ...toConnectionOptions(o.connection), maxRetriesPerRequest: null });

export interface ScheduleHostOptions extends ScheduleQueuesOptions {
  /** checks a schedule's payload before it is registered; throws with the reason */
  validate(spec: ScheduleSpec): Promise<void> | void;
  /** runs one firing; its result is kept on the firing job */
  fire(firing: Firing): Promise<unknown>;
  /** answers `list` with extra facts per schedule (e.g. its recent firings) */
  describe?(schedules: readonly ScheduleInfo[]): Promise<unknown>;
  /** firings running at once, across schedules (default 4) */
  fireConcurrency?: number;
  /**
   * Lock of a running firing (default 30 s): when the service dies, its running firings go back
   * to the queue this long after, and a restarted service takes them up (the sweep resumes).
   */
  lockMs?: number;
}

/** The service side: owns the schedulers, runs control requests one at a time, and runs firings. */
export class ScheduleHost {
  private readonly queue: Queue;
  private readonly control: Worker;
  private readonly firings: Worker;

  constructor(private readonly options: ScheduleHostOptions) {
    const connection = connectionOf(options);
    const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    const n = names(options.prefix);
    this.queue = new Queue(n.firings, { connection, prefix });
    this.control = new Worker(n.control, (job) => this.handleControl(job), { connection, prefix, concurrency: 1 });
    const lockMs = options.lockMs ?? 30_000;
    this.firings = new Worker(n.firings, (job) => this.handleFiring(job), {
      connection,
      prefix,
      concurrency: options.fireConcurrency ?? 4,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // a firing is resumable, so one interrupted by several crashes is still taken up again
      maxStalledCount: 100,
    });
  }

  async list(): Promise<ScheduleInfo[]> {
    const schedulers = await this.queue.getJobSchedulers(0, -1, true);
    return schedulers.map((s) => {
      const data = firingDataSchema.safeParse(s.template?.data);
      return {
        name: s.key,
        cron: s.pattern ?? '',
        tz: s.tz ?? 'UTC',
        policy: data.success ? data.data.policy : 'skip',
        next: s.next ?? null,
      };
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.control.close(), this.firings.close()]);
    await this.queue.close();
  }

  private async handleControl(job: Job): Promise<unknown> {
    const request = controlRequestSchema.parse(job.data);
    switch (request.op) {
      case 'add': {
        const s = request.schedule;
        await this.options.validate(s);
        await this.queue.upsertJobScheduler(
          s.name,
          { pattern: s.cron, tz: s.tz },
          { name: 'fire', data: { schedule: s.name, policy: s.policy, payload: s.payload }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
        );
        return (await this.list()).find((x) => x.name === s.name) ?? null;
      }
      case 'remove':
        return { removed: await this.queue.removeJobScheduler(request.name) };
      case 'list': {
        const schedules = await this.list();
        return { schedules, details: (await this.options.describe?.(schedules)) ?? null };
      }
    }
  }

  private async handleFiring(job: Job): Promise<unknown> {
    const data = firingDataSchema.parse(job.data);
    // A scheduler's job carries the time it was due as prevMillis (its id is repeat:<id>:<that time>).
    const scheduledAt = job.opts.prevMillis ?? job.timestamp;
    return this.options.fire({ schedule: data.schedule, scheduledAt, policy: data.policy, payload: data.payload });
  }
}

export class ScheduleServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleServiceUnavailableError';
  }
}

/** The CLI side: sends one control request to the service and waits for its answer. */
export class ScheduleClient {
  private readonly queue: Queue;
  private readonly events: QueueEvents;

  constructor(options: ScheduleQueuesOptions) {
    const connection = connectionOf(options);
    const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    const n = names(options.prefix);
    this.queue = new Queue(n.control, { connection, prefix });
    this.events = new QueueEvents(n.control, { connection, prefix });
  }

  async request(request: ControlRequest, timeoutMs = 15_000): Promise<unknown> {
    await this.events.waitUntilReady();
    const job = await this.queue.add(request.op, request, { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } });
    try {
      return await job.waitUntilFinished(this.events, timeoutMs);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/timed out/i.test(message)) {
        await job.remove().catch(() => undefined);
        throw new ScheduleServiceUnavailableError(
          `no answer from the schedule service within ${timeoutMs / 1000}s: is 'fedsim serve' running against this Redis and FEDSIM_QUEUE_PREFIX?`,
        );
      }
      throw new Error(`schedule service refused the request: ${message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.queue.close()]);
  }
}

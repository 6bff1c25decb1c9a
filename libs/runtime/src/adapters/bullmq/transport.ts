import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { FlowFailedError } from '../../errors/transport.js';
import type { Jobs, JobShapes, ParentKind, UntypedJobs } from '../../jobs/catalog.js';
import type { FlowChild, FlowSpec, FlowTransport } from '../../ports/transport.js';
import { assertValidFlow } from '../flow-validation.js';
import { toLogger } from '../logger.js';
import type { AdapterLogger, LogSink } from '../logger.js';
import type { QueueDepth, QueueDepthSource } from '../queue-depth.js';
import { checkRedis, createRedisClient, toConnectionOptions } from './connection.js';
import type { RedisConnectionInput } from './connection.js';
import type { ChildJobData, ParentJobData } from './job-data.js';
import { childJobOptions, DEFAULT_RETENTION, parentJobOptions } from './job-options.js';
import type { Retention } from './job-options.js';
import { DEFAULT_KEY_PREFIX, DEFAULT_POOL, jobIdOfKey, jobIds, queueNames, queueOfKey } from './naming.js';
import type { QueueNames } from './naming.js';
import { readQueueDepths } from './queue-depths.js';
import { DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS, isRedisConnectionError, RedisOutageWatch } from './redis-outage.js';
import { sleep } from '../sleep.js';

export interface BullmqTransportOptions {
  readonly connection: RedisConnectionInput;
  /** queue-name prefix: queues are `<prefix>-aggregate`, `<prefix>-train-<pool>`, `<prefix>-gate` */
  readonly prefix: string;
  /** BullMQ's Redis key prefix (default 'bull'); workers must use the same */
  readonly keyPrefix?: string;
  /** pools whose queues queueDepths() reports even before a flow used them */
  readonly pools?: readonly string[];
  /** children queued per Redis round trip (default 500) */
  readonly chunkSize?: number;
  /** child retry n waits childBackoffMs · 2^(n-1) (default 1000) */
  readonly childBackoffMs?: number;
  readonly parentBackoffMs?: number;
  /** how often the parent's state is polled besides the completion events (default 1000) */
  readonly pollIntervalMs?: number;
  /** approximate cap of each queue's event stream (BullMQ's default is 10,000; default here 1,000) */
  readonly eventsMaxLen?: number;
  readonly retention?: Partial<Retention>;
  /** how long Redis may stay unreachable before running flows fail (default 300 s; REDIS_OUTAGE_BUDGET_SECONDS) */
  readonly redisOutageBudgetMs?: number;
  readonly log?: LogSink;
  /** called after each chunk of children is queued (progress reporting; tests interleave work here) */
  readonly afterChunk?: (progress: { flowId: string; added: number; total: number }) => void | Promise<void>;
}

class TransportClosed extends Error {}

/**
 * The coordinator's side of BullMQ flows. One flow per runFlow: the parent (aggregate /
 * evalSummary) in `<prefix>-aggregate`, each child in its pool's queue with a deterministic job
 * id, so re-submitting a flowId finds the jobs it already queued.
 *
 * Children are added in chunks under a gate: the parent is created with one placeholder child
 * that no worker consumes, and the gate is removed only after the last chunk is queued, so the
 * parent cannot start while children are still being added. At the deadline the coordinator
 * detaches unfinished children (removes queued ones, unlinks running ones) so the parent runs;
 * the parent worker reports every child with neither a value nor a recorded failure as
 * 'deadline'.
 */
export class BullmqTransport<J extends JobShapes = Jobs> implements FlowTransport<J>, QueueDepthSource {
  private readonly names: QueueNames;
  private readonly keyPrefix: string;
  private readonly retention: Retention;
  private readonly log: AdapterLogger;
  private readonly queues = new Map<string, Queue>();
  private readonly pools = new Set<string>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly wakers = new Map<string, Set<() => void>>();
  private redis?: Redis;
  private producer?: FlowProducer;
  private events?: QueueEvents;
  private eventsReady?: Promise<void>;
  private closed = false;
  /** started with the first flow: bounds a Redis outage in time (BullMQ would wait for ever) */
  private outage?: RedisOutageWatch;

  constructor(private readonly options: BullmqTransportOptions) {
    this.names = queueNames(options.prefix);
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.log = toLogger(options.log);
    toConnectionOptions(options.connection);
    for (const pool of options.pools ?? [DEFAULT_POOL]) {
      this.names.child(pool);
      this.pools.add(pool);
    }
  }

  runFlow<P extends ParentKind>(typed: FlowSpec<J, P>): Promise<J[P]['reply']> {
    // Payloads go to Redis as JSON; the worker's handlers validate them.
    const flow: FlowSpec<UntypedJobs> = typed;
    if (this.closed) return Promise.reject(new FlowFailedError(flow.flowId, 'transport closed'));
    try {
      assertValidFlow(flow);
      for (const child of flow.children) this.names.child(child.pool ?? DEFAULT_POOL);
    } catch (err) {
      return Promise.reject(err);
    }
    // Same-process re-submissions share one wait; other processes find the jobs in Redis.
    const known = this.inflight.get(flow.flowId);
    if (known) return known as Promise<J[P]['reply']>;
    const run = this.execute(flow);
    run.catch(() => undefined); // a flow given up for the outage below still settles later
    const bounded = Promise.race([run, this.watchOutages().exceeded]).catch((err: unknown) => {
      if (err instanceof TransportClosed) throw new FlowFailedError(flow.flowId, 'transport closed');
      throw err;
    }).finally(() => this.inflight.delete(flow.flowId));
    this.inflight.set(flow.flowId, bounded);
    return bounded as Promise<J[P]['reply']>;
  }

  check(): Promise<void> {
    return checkRedis(this.options.connection, { log: this.log });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wakers of this.wakers.values()) for (const wake of wakers) wake();
    await Promise.allSettled([...this.inflight.values()]);
    const redisDown = this.outage?.down ?? false;
    await this.outage?.close();
    const graceful = Promise.allSettled([
      this.events?.close(),
      this.producer?.close(),
      ...[...this.queues.values()].map((q) => q.close()),
    ]);
    // With Redis gone, a graceful close would wait for it; the connections are dropped instead.
    if (redisDown) await Promise.race([graceful, sleep(1_000)]);
    else await graceful;
    this.redis?.disconnect();
    // the queues share `redis`; the queue events have a connection of their own
    if (redisDown) await Promise.race([this.events?.disconnect(), sleep(1_000)]);
  }

  async queueDepths(): Promise<QueueDepth[]> {
    const queues = [this.names.aggregate, ...[...this.pools].sort().map((p) => this.names.child(p))].map((n) => this.queue(n));
    return readQueueDepths(queues);
  }

  private async execute(flow: FlowSpec<UntypedJobs>): Promise<unknown> {
    await this.listenForParents();
    const aggregate = this.queue(this.names.aggregate);
    const parentId = jobIds.parent(flow.flowId);
    let existing = await aggregate.getJobState(parentId);
    if (existing === 'failed') {
      // Failed for good in an earlier submission (e.g. the store was down past its outage budget):
      // running the run again must redo the flow, not replay its stale failure.
      this.log.warn(`flow ${flow.flowId} failed before; removing its jobs and running it again`, { flowId: flow.flowId });
      await this.removeFlow(flow);
      existing = 'unknown';
    }
    if (existing === 'unknown') {
      await this.addParentWithGate(flow);
    } else {
      this.log.info(`flow ${flow.flowId} already queued (parent ${existing}); resuming`, { flowId: flow.flowId, state: existing });
    }
    await this.addChildrenWhileGated(flow);
    return this.waitForParent(flow);
  }

  private async addParentWithGate(flow: FlowSpec<UntypedJobs>): Promise<void> {
    const data: ParentJobData = {
      flowId: flow.flowId,
      kind: flow.parent.kind,
      payload: flow.parent.payload,
      deadlineMs: flow.deadlineMs,
      childIds: flow.children.map((c) => c.id),
    };
    this.queue(this.names.gate);
    await this.flowProducer().add({
      name: flow.parent.kind,
      queueName: this.names.aggregate,
      data,
      opts: {
        jobId: jobIds.parent(flow.flowId),
        ...parentJobOptions(flow.parentAttempts, this.options.parentBackoffMs ?? 1000, this.retention),
        ...(flow.priority !== undefined ? { priority: flow.priority } : {}),
      },
      children: [{ name: 'gate', queueName: this.names.gate, data: { flowId: flow.flowId }, opts: { jobId: jobIds.gate(flow.flowId) } }],
    });
  }

  /** Queues every child not yet queued, in chunks, then lifts the gate. No-op once the gate is gone. */
  private async addChildrenWhileGated(flow: FlowSpec<UntypedJobs>): Promise<void> {
    const gate = this.queue(this.names.gate);
    const gateId = jobIds.gate(flow.flowId);
    if ((await gate.getJobState(gateId)) === 'unknown') return;

    const parentId = jobIds.parent(flow.flowId);
    const finished = await this.finishedChildren(parentId);
    // Re-adding a child that already failed would put it back among the parent's dependencies
    // (BullMQ re-links duplicates), leaving the parent waiting forever; skip finished ones.
    const todo = flow.children.filter((c) => !finished.has(jobIds.child(flow.flowId, c.id)));
    const chunkSize = Math.max(1, this.options.chunkSize ?? 500);
    const parent = { id: parentId, queue: `${this.keyPrefix}:${this.names.aggregate}` };
    const opts = {
      ...childJobOptions(flow.attempts, this.options.childBackoffMs ?? 1000, this.retention),
      ...(flow.priority !== undefined ? { priority: flow.priority } : {}),
    };
    for (let start = 0; start < todo.length; start += chunkSize) {
      if (this.closed) throw new TransportClosed();
      if (start > 0 && (await gate.getJobState(gateId)) === 'unknown') return; // another submitter finished
      const byQueue = new Map<string, FlowChild<UntypedJobs>[]>();
      for (const child of todo.slice(start, start + chunkSize)) {
        const pool = child.pool ?? DEFAULT_POOL;
        this.pools.add(pool);
        const name = this.names.child(pool);
        byQueue.set(name, [...(byQueue.get(name) ?? []), child]);
      }
      await Promise.all([...byQueue].map(([name, children]) => this.queue(name).addBulk(children.map((child) => {
        const data: ChildJobData = { flowId: flow.flowId, childId: child.id, kind: child.kind, payload: child.payload };
        return { name: child.kind, data, opts: { ...opts, jobId: jobIds.child(flow.flowId, child.id), parent } };
      }))));
      await this.options.afterChunk?.({ flowId: flow.flowId, added: Math.min(start + chunkSize, todo.length), total: todo.length });
    }
    await gate.remove(gateId, { removeChildren: false });
  }

  /** Removes a settled flow's parent, gate and children, so its id can be queued afresh. */
  private async removeFlow(flow: FlowSpec<UntypedJobs>): Promise<void> {
    await this.queue(this.names.aggregate).remove(jobIds.parent(flow.flowId), { removeChildren: true });
    await this.queue(this.names.gate).remove(jobIds.gate(flow.flowId));
    // children kept after they failed would be taken for this submission's (BullMQ keeps a duplicate id)
    for (let i = 0; i < flow.children.length; i += 500) {
      await Promise.all(flow.children.slice(i, i + 500).map((c) => this.queue(this.names.child(c.pool ?? DEFAULT_POOL)).remove(jobIds.child(flow.flowId, c.id))));
    }
  }

  /** Job ids of children whose value or failure the parent already holds. */
  private async finishedChildren(parentId: string): Promise<Set<string>> {
    const parent = await Job.fromId(this.queue(this.names.aggregate), parentId);
    if (!parent) return new Set();
    const [values, failures] = await Promise.all([parent.getChildrenValues(), parent.getIgnoredChildrenFailures()]);
    return new Set([...Object.keys(values ?? {}), ...Object.keys(failures ?? {})].map(jobIdOfKey));
  }

  private async waitForParent(flow: FlowSpec<UntypedJobs>): Promise<unknown> {
    const aggregate = this.queue(this.names.aggregate);
    const parentId = jobIds.parent(flow.flowId);
    const first = await Job.fromId(aggregate, parentId);
    const deadlineAt = (first?.timestamp ?? Date.now()) + flow.deadlineMs;
    const pollMs = this.options.pollIntervalMs ?? 1000;
    for (;;) {
      if (this.closed) throw new TransportClosed();
      const state = await aggregate.getJobState(parentId);
      if (state === 'completed' || state === 'failed') {
        const job = await Job.fromId(aggregate, parentId);
        if (state === 'completed') return job?.returnvalue ?? null;
        throw new FlowFailedError(flow.flowId, `parent ${flow.parent.kind} failed after ${job?.attemptsMade ?? '?'} `
          + `attempt(s): ${job?.failedReason ?? 'unknown reason'}`);
      }
      if (state === 'unknown') {
        throw new FlowFailedError(flow.flowId, `parent job ${parentId} is gone from Redis (removed, or Redis restarted `
          + 'without persistence); run again to resume: finished rounds are kept in the store');
      }
      const now = Date.now();
      if (now >= deadlineAt && state === 'waiting-children') await this.detachUnfinished(flow, parentId);
      await this.wakeOrSleep(parentId, now < deadlineAt ? Math.min(pollMs, deadlineAt - now) : pollMs);
    }
  }

  /** Unlinks every child the parent still waits for, so the parent runs and sees them as 'deadline'. */
  private async detachUnfinished(flow: FlowSpec<UntypedJobs>, parentId: string): Promise<void> {
    const parent = await Job.fromId(this.queue(this.names.aggregate), parentId);
    if (!parent) return;
    const keys: string[] = [];
    let cursor = 0;
    do {
      const page = await parent.getDependencies({ unprocessed: { cursor, count: 1000 } });
      keys.push(...(page.unprocessed ?? []));
      cursor = page.nextUnprocessedCursor ?? 0;
    } while (cursor !== 0);
    if (keys.length === 0) return;
    this.log.warn(`flow ${flow.flowId}: deadline of ${flow.deadlineMs} ms passed with ${keys.length} child job(s) unfinished; `
      + 'detaching them so the parent runs', { flowId: flow.flowId, unfinished: keys.length });
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => this.detach(key)));
    }
  }

  private async detach(key: string): Promise<void> {
    const queueName = queueOfKey(key, this.keyPrefix);
    const job = queueName ? await Job.fromId(this.queue(queueName), jobIdOfKey(key)) : undefined;
    if (!job) {
      this.log.error(`cannot detach child ${key}: job not found`, { key });
      return;
    }
    try {
      // Queued or backing off: remove it (this also unlinks it from the parent).
      await job.remove({ removeChildren: false });
      return;
    } catch {
      // Locked by a worker: let it run to the end, but the parent stops waiting for it.
    }
    try {
      await job.removeChildDependency();
    } catch (err) {
      this.log.warn(`could not detach child ${key}: ${(err as Error).message}`, { key });
    }
  }

  private wakeOrSleep(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.wakers.get(jobId) ?? new Set();
      this.wakers.set(jobId, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.wakers.delete(jobId);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, ms));
      set.add(wake);
    });
  }

  /** Completion events shorten the wait; the poll in waitForParent covers any missed event. */
  private listenForParents(): Promise<void> {
    this.eventsReady ??= (async () => {
      const events = new QueueEvents(this.names.aggregate, {
        connection: { ...toConnectionOptions(this.options.connection), maxRetriesPerRequest: null },
        prefix: this.keyPrefix,
      });
      events.on('error', (err) => isRedisConnectionError(err) || this.log.warn(`queue events for ${this.names.aggregate}: ${err.message}`));
      const wake = ({ jobId }: { jobId: string }) => {
        for (const w of [...(this.wakers.get(jobId) ?? [])]) w();
      };
      events.on('completed', wake);
      events.on('failed', wake);
      events.on('waiting', wake);
      this.events = events;
      await events.waitUntilReady();
    })();
    return this.eventsReady;
  }

  private watchOutages(): RedisOutageWatch {
    this.outage ??= new RedisOutageWatch({
      connection: this.options.connection,
      budgetMs: this.options.redisOutageBudgetMs ?? DEFAULT_REDIS_OUTAGE_BUDGET_SECONDS * 1000,
      log: this.log,
      consequence: 'the run stops (finished rounds are kept in the store)',
    }).start();
    return this.outage;
  }

  private connection(): Redis {
    this.redis ??= createRedisClient(this.options.connection, { maxRetriesPerRequest: null });
    return this.redis;
  }

  private flowProducer(): FlowProducer {
    if (!this.producer) {
      this.producer = new FlowProducer({ connection: this.connection(), prefix: this.keyPrefix });
      this.producer.on('error', (err) => isRedisConnectionError(err) || this.log.warn(`flow producer: ${err.message}`));
    }
    return this.producer;
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection(),
        prefix: this.keyPrefix,
        streams: { events: { maxLen: this.options.eventsMaxLen ?? 1000 } },
      });
      queue.on('error', (err) => isRedisConnectionError(err) || this.log.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }
}

import { setMaxListeners } from 'node:events';
import { TransportClosedError } from '../../errors/transport.js';
import { FlowFailedError } from '../../errors/transport.js';
import { isNonRetryable } from '../../errors/non-retryable.js';
import type { Jobs, JobShapes, ParentKind, UntypedJobs } from '../../jobs/catalog.js';
import type { ChildOutcome, FlowChild, FlowSpec, FlowTransport, JobHandlers } from '../../ports/transport.js';
import { deadlineError, errorMessage, failedOutcome } from '../child-failure.js';
import { assertValidFlow } from '../flow-validation.js';
import { sleep } from '../sleep.js';
import type { QueueDepth, QueueDepthSource } from '../queue-depth.js';
import { Limiter } from './limiter.js';

export interface EmbeddedTransportOptions<J extends JobShapes = Jobs> {
  readonly handlers: JobHandlers<J>;
  /** jobs (children and parents together) running at once */
  readonly concurrency: number;
  /** retry n waits retryBackoffMs · 2^(n-1) (default 0: retry at once); non-retryable errors are not retried */
  readonly retryBackoffMs?: number;
  /** completed flows remembered so a re-submitted flowId returns the same result (default 64); failed ones are not */
  readonly rememberFlows?: number;
}

/** The embedded queue's name in queueDepths(). */
export const EMBEDDED_QUEUE = 'embedded';


/**
 * Runs flows in this process with a concurrency limit. The handlers decide where the CPU work
 * happens (ThreadPoolHandlers keeps it off this event loop). A re-submitted flowId, while running
 * or recently completed, returns the first submission's result instead of running again; one
 * that failed for good runs again.
 */
export class EmbeddedTransport<J extends JobShapes = Jobs> implements FlowTransport<J>, QueueDepthSource {
  private readonly limiter: Limiter;
  /** the transport only moves payloads and replies; the handlers are typed by the caller */
  private readonly handlers: JobHandlers<UntypedJobs>;
  private readonly flows = new Map<string, Promise<unknown>>();
  /** completed flow ids, oldest first */
  private readonly settled = new Set<string>();
  private readonly closing = new AbortController();
  private backingOff = 0;

  constructor(private readonly options: EmbeddedTransportOptions<J>) {
    this.limiter = new Limiter(options.concurrency);
    this.handlers = options.handlers;
  }

  runFlow<P extends ParentKind>(flow: FlowSpec<J, P>): Promise<J[P]['reply']> {
    if (this.closing.signal.aborted) return Promise.reject(new FlowFailedError(flow.flowId, 'transport closed'));
    assertValidFlow(flow);
    const known = this.flows.get(flow.flowId);
    if (known) return known;
    const run = this.execute(flow) as Promise<J[P]['reply']>;
    this.flows.set(flow.flowId, run);
    // A flow that failed for good is forgotten at once, so submitting it again runs it again
    // (as BullMQ does with a failed parent) instead of replaying the stale failure.
    run.then(() => this.forgetOldFlows(flow.flowId), () => {
      if (this.flows.get(flow.flowId) === run) this.flows.delete(flow.flowId);
    });
    return run;
  }

  async check(): Promise<void> {}

  async close(): Promise<void> {
    this.closing.abort(new TransportClosedError());
    await Promise.allSettled([...this.flows.values()]);
  }

  async queueDepths(): Promise<QueueDepth[]> {
    return [
      { queue: EMBEDDED_QUEUE, state: 'waiting', count: this.limiter.waiting },
      { queue: EMBEDDED_QUEUE, state: 'active', count: this.limiter.active },
      { queue: EMBEDDED_QUEUE, state: 'delayed', count: this.backingOff },
      { queue: EMBEDDED_QUEUE, state: 'failed', count: 0 },
    ];
  }

  private async execute(flow: FlowSpec<UntypedJobs>): Promise<unknown> {
    // A plain (ref'd) timer, not AbortSignal.timeout: a flow waiting only on its deadline must
    // keep the process alive.
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(new Error('deadline')), flow.deadlineMs);
    const deadline = AbortSignal.any([expiry.signal, this.closing.signal]);
    // Every waiting child listens on this signal: thousands of clients are normal, not a leak.
    setMaxListeners(0, deadline);
    let outcomes: ChildOutcome[];
    try {
      outcomes = await Promise.all(flow.children.map((child) => this.runChild(flow, child, deadline)));
    } finally {
      clearTimeout(timer);
    }
    if (this.closing.signal.aborted) throw new FlowFailedError(flow.flowId, 'transport closed');

    let lastError: unknown;
    for (let attempt = 1; attempt <= flow.parentAttempts; attempt++) {
      let release: () => void;
      try {
        release = await this.limiter.acquire(this.closing.signal);
      } catch {
        throw new FlowFailedError(flow.flowId, 'transport closed');
      }
      try {
        return await this.handlers.runParent(flow.parent.kind, flow.parent.payload, outcomes);
      } catch (err) {
        lastError = err;
        if (isNonRetryable(err)) {
          throw new FlowFailedError(flow.flowId, `parent ${flow.parent.kind} failed after ${attempt} attempt(s), `
            + `not retryable: ${errorMessage(err)}`);
        }
      } finally {
        release();
      }
      if (attempt < flow.parentAttempts) await this.backoff(attempt, this.closing.signal);
    }
    throw new FlowFailedError(flow.flowId, `parent ${flow.parent.kind} failed after ${flow.parentAttempts} `
      + `attempt(s): ${errorMessage(lastError)}`);
  }

  private async runChild(flow: FlowSpec<UntypedJobs>, child: FlowChild<UntypedJobs>, deadline: AbortSignal): Promise<ChildOutcome> {
    const jobId = `${flow.flowId}/${child.id}`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= flow.attempts; attempt++) {
      let release: () => void;
      try {
        release = await this.limiter.acquire(deadline);
      } catch {
        return deadlineOutcome(flow, child, lastError);
      }
      try {
        const value = await untilAborted(
          this.handlers.runChild(child.kind, child.payload, { attempt, jobId, signal: deadline }),
          deadline,
        );
        return { id: child.id, ok: true, value };
      } catch (err) {
        if (deadline.aborted) return deadlineOutcome(flow, child, lastError);
        lastError = err;
        if (isNonRetryable(err)) break;
      } finally {
        // A handler that ignores the abort keeps running; its slot is freed anyway so one stuck
        // job cannot stall later flows (the thread pool bounds the real CPU use).
        release();
      }
      if (attempt < flow.attempts) {
        await this.backoff(attempt, deadline);
        if (deadline.aborted) return deadlineOutcome(flow, child, lastError);
      }
    }
    return failedOutcome(child.id, lastError);
  }

  private async backoff(attempt: number, signal: AbortSignal): Promise<void> {
    const base = this.options.retryBackoffMs ?? 0;
    if (base <= 0) return;
    this.backingOff++;
    try {
      await sleep(base * 2 ** (attempt - 1), signal);
    } finally {
      this.backingOff--;
    }
  }

  private forgetOldFlows(flowId: string): void {
    this.settled.add(flowId);
    const keep = this.options.rememberFlows ?? 64;
    for (const id of this.settled) {
      if (this.settled.size <= keep) break;
      this.settled.delete(id);
      this.flows.delete(id);
    }
  }
}

function deadlineOutcome(flow: FlowSpec<UntypedJobs>, child: FlowChild<UntypedJobs>, lastError: unknown): ChildOutcome {
  const last = lastError === undefined ? '' : ` (last error: ${errorMessage(lastError)})`;
  return { id: child.id, ok: false, code: 'deadline', error: `${deadlineError(flow.deadlineMs)}${last}` };
}

/** Resolves or rejects like `work`, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

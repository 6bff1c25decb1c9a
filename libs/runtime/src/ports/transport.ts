/**
 * How a round's jobs reach workers. A flow is one parent job (aggregate, eval summary) with one
 * child job per client (train, eval); the parent runs once every child has finished, failed for
 * good, or missed the deadline. Failures reach the parent as data, never as a stuck flow.
 *
 * Two implementations pass the same conformance suite: an in-process one (embedded default) and
 * BullMQ flows over Redis.
 */
export type ChildKind = 'train' | 'eval';
export type ParentKind = 'aggregate' | 'evalSummary';

export interface FlowChild {
  /** unique within the flow; the client id as a string */
  readonly id: string;
  readonly kind: ChildKind;
  readonly payload: unknown;
  /** worker pool/queue suffix to route on (e.g. a FIARSE capacity class); default pool when absent */
  readonly pool?: string;
}

export interface FlowSpec {
  /** deterministic and unique per run/round/purpose: re-submitting the same id never duplicates work */
  readonly flowId: string;
  readonly parent: { readonly kind: ParentKind; readonly payload: unknown };
  readonly children: readonly FlowChild[];
  /** children unfinished after this many ms count as failed ('deadline') and the parent runs */
  readonly deadlineMs: number;
  /** tries per child job (1 = no retry) */
  readonly attempts: number;
  /** tries for the parent job */
  readonly parentAttempts: number;
  /**
   * Queue priority of the flow's jobs where the transport has one (BullMQ: 1 is highest; jobs
   * without a priority go before every prioritized job). Sweeps set it so their many runs queue
   * behind single runs; the embedded transport ignores it (its FIFO already interleaves runs).
   */
  readonly priority?: number;
}

export type ChildOutcome =
  | { readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly id: string; readonly ok: false; readonly error: string };

export interface ChildContext {
  /** 1-based attempt number; used to key attempt-scoped blobs */
  readonly attempt: number;
  readonly jobId: string;
  readonly signal?: AbortSignal;
}

/** What a worker does with jobs; the same handlers serve both transports. */
export interface JobHandlers {
  runChild(kind: ChildKind, payload: unknown, ctx: ChildContext): Promise<unknown>;
  /** `outcomes` is ordered by child id as given in the flow, whatever the finishing order */
  runParent(kind: ParentKind, payload: unknown, outcomes: readonly ChildOutcome[]): Promise<unknown>;
}

/** The coordinator's side of a transport. */
export interface FlowTransport {
  /** Queues the flow and resolves with the parent's return value; rejects if the parent fails for good. */
  runFlow(flow: FlowSpec): Promise<unknown>;
  /** Fails fast (seconds) with an actionable message when the queue backend is unreachable. */
  check(): Promise<void>;
  /** Jobs per queue and state (waiting/active/delayed/failed), for metrics. */
  queueDepths?(): Promise<readonly { queue: string; state: string; count: number }[]>;
  close(): Promise<void>;
}

export class FlowFailedError extends Error {
  constructor(readonly flowId: string, reason: string) {
    super(`flow ${flowId} failed: ${reason}`);
    this.name = 'FlowFailedError';
  }
}

export class TransportUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportUnavailableError';
  }
}

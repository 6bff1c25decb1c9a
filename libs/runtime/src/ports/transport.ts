/**
 * How a round's jobs reach workers. A flow is one parent job (aggregate, eval summary) with one
 * child job per client (train, eval); the parent runs once every child has finished, failed for
 * good, or missed the deadline. Failures reach the parent as data, never as a stuck flow.
 *
 * Two implementations pass the same conformance suite: an in-process one (embedded default) and
 * BullMQ flows over Redis.
 */
import type { ChildKind, JobShapes, Jobs, ParentKind } from '../jobs/catalog.js';
import type { ChildFailureCode } from '../jobs/failures.js';

export type { ChildKind, ParentKind } from '../jobs/catalog.js';

/** One child job of a flow; its payload type follows its kind. */
export type FlowChild<J extends JobShapes = Jobs> = {
  readonly [K in ChildKind]: {
    /** unique within the flow; the client id as a string */
    readonly id: string;
    readonly kind: K;
    readonly payload: J[K]['payload'];
    /** worker pool/queue suffix to route on (e.g. a FIARSE capacity class); default pool when absent */
    readonly pool?: string;
  };
}[ChildKind];

export type FlowParent<J extends JobShapes = Jobs, P extends ParentKind = ParentKind> = {
  readonly [K in P]: { readonly kind: K; readonly payload: J[K]['payload'] };
}[P];

export interface FlowSpec<J extends JobShapes = Jobs, P extends ParentKind = ParentKind> {
  /** deterministic and unique per run/round/purpose: re-submitting the same id never duplicates work */
  readonly flowId: string;
  readonly parent: FlowParent<J, P>;
  readonly children: readonly FlowChild<J>[];
  /** children unfinished after this many ms count as failed ('deadline') and the parent runs */
  readonly deadlineMs: number;
  /** tries per child job (1 = no retry; a non-retryable error ends the tries at once) */
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

/** A child's result as its parent sees it; a failure says why with a code and a message. */
export type ChildOutcome =
  | { readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly id: string; readonly ok: false; readonly code: ChildFailureCode; readonly error: string };

export interface ChildContext {
  /** 1-based attempt number; used to key attempt-scoped blobs */
  readonly attempt: number;
  readonly jobId: string;
  readonly signal?: AbortSignal;
}

/**
 * What a worker does with jobs; the same handlers serve both transports. A handler that throws a
 * non-retryable error (errors/non-retryable.ts) gets no further attempt.
 */
export interface JobHandlers<J extends JobShapes = Jobs> {
  runChild<K extends ChildKind>(kind: K, payload: J[K]['payload'], ctx: ChildContext): Promise<J[K]['reply']>;
  /** `outcomes` is ordered by child id as given in the flow, whatever the finishing order */
  runParent<K extends ParentKind>(kind: K, payload: J[K]['payload'], outcomes: readonly ChildOutcome[]): Promise<J[K]['reply']>;
}

/** The coordinator's side of a transport. */
export interface FlowTransport<J extends JobShapes = Jobs> {
  /** Queues the flow and resolves with the parent's return value; rejects if the parent fails for good. */
  runFlow<P extends ParentKind>(flow: FlowSpec<J, P>): Promise<J[P]['reply']>;
  /** Fails fast (seconds) with an actionable message when the queue backend is unreachable. */
  check(): Promise<void>;
  /** Jobs per queue and state (waiting/active/delayed/failed), for metrics. */
  queueDepths?(): Promise<readonly { queue: string; state: string; count: number }[]>;
  close(): Promise<void>;
}

export { FlowFailedError, TransportUnavailableError } from '../errors/transport.js';

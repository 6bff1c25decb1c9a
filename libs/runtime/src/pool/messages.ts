import { NonRetryableError, isNonRetryable } from '../errors/non-retryable.js';
import type { ChildKind, ChildOutcome, ParentKind } from '../ports/transport.js';

/** The messages between the pool and its threads (structured-cloned, so plain data only). */
export type ThreadJob =
  | { readonly op: 'child'; readonly kind: ChildKind; readonly payload: unknown; readonly attempt: number; readonly jobId: string }
  | { readonly op: 'parent'; readonly kind: ParentKind; readonly payload: unknown; readonly outcomes: readonly ChildOutcome[] };

export type ToThread =
  | { readonly type: 'run'; readonly id: number; readonly job: ThreadJob }
  | { readonly type: 'abort'; readonly id: number; readonly reason: string };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** set for non-retryable errors, so the pool's caller does not retry them either */
  readonly retryable?: false;
}

export type FromThread =
  | { readonly type: 'ready' }
  | { readonly type: 'initError'; readonly error: SerializedError }
  | { readonly type: 'done'; readonly id: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };

export interface ThreadInit {
  /** href of the module exporting createHandlers(workerData) */
  readonly entry: string;
  readonly workerData: unknown;
}

/** The workerData of every pool thread. */
export interface ThreadWorkerData {
  readonly boot: { readonly main: string; readonly tsx?: string };
  readonly init: ThreadInit;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      ...(isNonRetryable(err) ? { retryable: false as const } : {}),
    };
  }
  return { name: 'Error', message: typeof err === 'string' ? err : String(err) };
}

/** The thread's error on this side: same name and message, and still non-retryable if it was. */
export function deserializeError(e: SerializedError): Error {
  const err = e.retryable === false ? new NonRetryableError(e.message) : new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

import { isNonRetryable } from '../errors/non-retryable.js';
import { isStorageUnavailable } from '../errors/store.js';
import type { ChildFailureCode } from '../jobs/failures.js';
import type { ChildOutcome } from '../ports/transport.js';

/** What a child outcome says when the child did not finish before the flow's deadline. */
export function deadlineError(deadlineMs: number): string {
  return `deadline: not finished within ${deadlineMs} ms`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
}

/** The outcome of a child whose last attempt threw `err`. */
export function failedOutcome(id: string, err: unknown): ChildOutcome {
  return { id, ok: false, code: failureCodeOf(err), error: errorMessage(err) };
}

/** The code of a child's last error: storage trouble is not the client's, non-retryable is its input's. */
export function failureCodeOf(err: unknown): Extract<ChildFailureCode, 'storage' | 'bad_input' | 'error'> {
  if (isStorageUnavailable(err)) return 'storage';
  return isNonRetryable(err) ? 'bad_input' : 'error';
}

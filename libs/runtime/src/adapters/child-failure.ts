import { isNonRetryable } from '../errors/non-retryable.js';
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
  return { id, ok: false, code: isNonRetryable(err) ? 'bad_input' : 'error', error: errorMessage(err) };
}

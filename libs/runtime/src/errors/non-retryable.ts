/**
 * A failure that another attempt cannot fix: an invalid payload, bad data, a missing
 * instruction. Transports run such a job exactly once (BullMQ: UnrecoverableError; embedded: no
 * retry) and record it as `bad_input`. Errors from libraries that cannot import this class mark
 * themselves with `retryable = false` (e.g. libs/fl's DataError); both count.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

export function isNonRetryable(err: unknown): boolean {
  return err instanceof Error && (err as { retryable?: unknown }).retryable === false;
}

/** A job payload or reply that fails its catalog schema: retrying sends the same bytes again. */
export class InvalidJobError extends NonRetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidJobError';
  }
}

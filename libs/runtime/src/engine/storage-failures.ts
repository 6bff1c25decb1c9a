import { NonRetryableError } from '../errors/non-retryable.js';
import type { ClientFailure } from '../jobs/catalog.js';

/**
 * A round whose clients failed because the blob store was down is not the clients' fault: it
 * must not commit with fewer of them (the model would differ from a fault-free run's). Fails the
 * round's parent job instead, leaving nothing committed, so running again resumes at this round.
 * Non-retryable: another try of the parent would see the same child outcomes.
 */
export function assertNoStorageFailures(what: string, failures: readonly ClientFailure[]): void {
  const storage = failures.filter((f) => f.code === 'storage');
  if (storage.length === 0) return;
  const first = storage[0]!;
  throw new NonRetryableError(
    `${what} not committed: ${storage.length} client job(s) could not reach the blob store past its outage budget ` +
      `(client ${first.clientId}: ${first.detail}); bring storage back and run again to resume`,
  );
}

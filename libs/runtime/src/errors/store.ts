export class BlobNotFoundError extends Error {
  constructor(readonly key: string, where: string) {
    super(`no object '${key}' in ${where}`);
    this.name = 'BlobNotFoundError';
  }
}

export class BlobStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobStoreUnavailableError';
  }
}

/**
 * Whether `err` is the blob store being unavailable (past its outage budget, or refusing us),
 * not something about the job. By name, because errors cross thread and process boundaries as
 * name and message only.
 */
export function isStorageUnavailable(err: unknown): boolean {
  return err instanceof Error && (err instanceof BlobStoreUnavailableError || STORAGE_ERROR_NAMES.has(err.name));
}
const STORAGE_ERROR_NAMES = new Set(['BlobStoreUnavailableError', 'OutageBudgetExceededError']);

export class InvalidBlobKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid blob key '${key}': ${reason}`);
    this.name = 'InvalidBlobKeyError';
  }
}

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

export class InvalidBlobKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid blob key '${key}': ${reason}`);
    this.name = 'InvalidBlobKeyError';
  }
}

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

/** A transport's own close() ended the work; callers see a FlowFailedError saying so. */
export class TransportClosedError extends Error {
  constructor() {
    super('transport closed');
    this.name = 'TransportClosedError';
  }
}

export class ThreadPoolClosedError extends Error {
  constructor() {
    super('thread pool closed');
    this.name = 'ThreadPoolClosedError';
  }
}

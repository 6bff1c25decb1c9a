/**
 * A client job that needs a server instruction (e.g. FedOBP's patch) and has none: the round's
 * preparation did not store it, so another attempt finds none either (`retryable` is the marker
 * libs/runtime's transports look for).
 */
export class MissingInstructionError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'MissingInstructionError';
  }
}

/** Thrown for bad observability settings; the message names the environment variable to fix. */
export class ObservabilityConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ObservabilityConfigError';
  }
}

/** Thrown when the metrics server cannot start; the message says what to change. */
export class ObservabilityStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObservabilityStartError';
  }
}

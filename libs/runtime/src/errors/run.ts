/** Bad user input (config file, command-line value, environment): the CLI exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A run that started but cannot finish (a round below its success threshold, a clashing run id). */
export class RunFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailedError';
  }
}

/** A data file that is not where the config says; the message says how to get it there. */
export class DatasetNotFoundError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

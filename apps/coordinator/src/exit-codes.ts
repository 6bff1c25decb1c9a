import { constants } from 'node:os';
import { CommanderError } from 'commander';
import { ConfigError, DatasetNotFoundError, RunFailedError } from '@fedsim/runtime';
import { maskSecrets } from '@fedsim/runtime/adapters';

/** What the exit status tells a script or a Kubernetes Job. */
export const EXIT = {
  /** a failed run, or an unexpected error */
  failed: 1,
  /** bad input: arguments, config file, environment, missing data set */
  badInput: 2,
} as const;

/** 128 + the signal's number, as shells report a process a signal ended (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** The run stopped because the process got a signal; committed rounds are kept. */
export class RunInterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`run interrupted by ${signal}`);
    this.name = 'RunInterruptedError';
  }
}

/** Errors whose message says all there is to say: no stack trace, even with FEDSIM_DEBUG. */
const isOperational = (err: unknown) =>
  err instanceof ConfigError || err instanceof RunFailedError || err instanceof DatasetNotFoundError || err instanceof RunInterruptedError;

export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT.badInput;
  if (err instanceof RunInterruptedError) return signalExitCode(err.signal);
  return err instanceof ConfigError || err instanceof DatasetNotFoundError ? EXIT.badInput : EXIT.failed;
}

/** Prints the error the way an operator needs it and exits with its code. */
export function exitWithError(err: unknown, debug: boolean): never {
  const code = exitCodeOf(err);
  // commander already printed its own usage errors, help and version
  if (!(err instanceof CommanderError)) {
    const e = err instanceof Error ? err : undefined;
    const withStack = debug && !isOperational(err);
    // messages may quote a connection string: never print its password
    console.error(maskSecrets(`fedsim: ${e ? (withStack ? (e.stack ?? e.message) : e.message) : String(err)}`));
    if (!debug && e && !isOperational(err)) console.error('(set FEDSIM_DEBUG=1 for the stack trace)');
  }
  process.exit(code);
}

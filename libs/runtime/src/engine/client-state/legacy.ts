import { RunFailedError } from '../../errors/run.js';

/**
 * Runs written before client state was packed kept one JSON state index per round
 * (`stateIndexKey` in their commit records). Their state is not converted: resuming one is
 * refused with what to do instead.
 */
export function assertCurrentCommitFormat(commit: unknown, runId: string, round: number): void {
  if (typeof commit === 'object' && commit !== null && 'stateIndexKey' in commit && !('stateShards' in commit)) {
    throw new RunFailedError(
      `run '${runId}' was written by an older fedsim (round ${round}'s commit names a whole-run state index); ` +
        `this version stores client state packed and cannot resume it: finish it with the version that started it, or start a new run id`,
    );
  }
}

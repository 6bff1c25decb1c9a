import type { JobsOptions, KeepJobs } from 'bullmq';

/** How long finished jobs stay in Redis. Bounded so Redis memory stays flat over long runs. */
export interface Retention {
  /** finished children: their values/failures already live in the parent, so they go soon */
  readonly childCompleted: KeepJobs;
  readonly childFailed: KeepJobs;
  /** parents: kept so a re-submitted flow finds its result instead of running again */
  readonly parentCompleted: KeepJobs;
  readonly parentFailed: KeepJobs;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

export const DEFAULT_RETENTION: Retention = {
  childCompleted: { age: HOUR, count: 10_000 },
  childFailed: { age: DAY, count: 10_000 },
  parentCompleted: { age: 7 * DAY, count: 1_000 },
  parentFailed: { age: 30 * DAY, count: 1_000 },
};

export function childJobOptions(attempts: number, backoffMs: number, retention: Retention): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    // A child that fails for good is recorded in the parent's failed set (with its reason) and
    // stops blocking it; failParentOnFailure would fail the round, removeDependencyOnFailure
    // would lose the reason, continueParentOnFailure would start the parent at the first
    // failure while other children still run.
    ignoreDependencyOnFailure: true,
    removeOnComplete: retention.childCompleted,
    removeOnFail: retention.childFailed,
  };
}

export function parentJobOptions(attempts: number, backoffMs: number, retention: Retention): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: retention.parentCompleted,
    removeOnFail: retention.parentFailed,
  };
}

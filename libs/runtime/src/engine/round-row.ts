import type { CommitRecord, EvalSummary } from '../jobs/catalog.js';
import type { RoundRow } from './results.js';

/** A round's results line from its commit record and, on evaluation rounds, its evaluation. */
export function roundRow(
  commit: CommitRecord,
  sampled: readonly number[],
  prepareReports: Record<string, unknown>,
  evaluation: EvalSummary | undefined,
  wallSeconds: number,
): RoundRow {
  return {
    round: commit.round,
    clients: sampled.length,
    sampled,
    succeeded: commit.succeeded.length,
    failed: commit.failures.length,
    failures: commit.failures,
    trainLoss: commit.trainLoss,
    wallSeconds,
    trainSeconds: commit.trainSeconds,
    aggregateSeconds: commit.aggregateSeconds,
    uploadBytes: commit.uploadBytes,
    downloadBytes: commit.downloadBytes,
    backends: commit.backends,
    prepareReports,
    ...(evaluation ? { evaluation: evaluation.results, evaluationFailures: evaluation.failures.length } : {}),
  };
}

/** Whether the model after `round` is evaluated (every `every` rounds, and after the last). */
export const isEvalRound = (round: number, config: { readonly rounds: number; readonly eval: { readonly every: number } }) =>
  (round + 1) % config.eval.every === 0 || round + 1 === config.rounds;

import type { ClientFailure, EvalStats } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import type { BufferedUpdate, DropReason, SyncRoundPlan } from '@fedsim/fl/system';

/** A round in virtual time (runs with a `system` block): sync's plan, or a FedBuff step. */
export type VirtualRound = Omit<SyncRoundPlan, 'round' | 'kept'> & {
  /** FedBuff: the step's arrivals in order, each with the version it trained from and its staleness */
  readonly arrivals?: readonly BufferedUpdate[];
};

/** One line of a run's results (results.jsonl / results.csv). */
export interface RoundRow {
  readonly round: number;
  readonly clients: number;
  /** the clients sampled for the round, as the coordinator sampled them */
  readonly sampled: readonly number[];
  readonly succeeded: number;
  readonly failed: number;
  readonly failures: readonly ClientFailure[];
  readonly trainLoss: number | null;
  readonly wallSeconds: number;
  readonly trainSeconds: number;
  readonly aggregateSeconds: number;
  readonly uploadBytes: number;
  readonly downloadBytes: number;
  readonly backends: readonly string[];
  /** per client: what the server prepared for it for this round (e.g. FedOBP's patch sizes) */
  readonly prepareReports: Record<string, unknown>;
  /** what a robust or DP aggregation reported for the round (clipped updates, DP noise σ) */
  readonly aggregation?: Record<string, unknown>;
  /** present on evaluation rounds: per named evaluation (personalized, global, before, after) */
  readonly evaluation?: Record<string, EvalStats>;
  readonly evaluationFailures?: number;
  /** runs with a `system` block: the round in virtual time, who was sampled and who was dropped why */
  readonly virtual?: VirtualRound;
}

export interface RunSummary {
  readonly runId: string;
  readonly experiment: string;
  readonly algorithm: string;
  readonly rounds: number;
  readonly finalModelKey: string;
  /** sha256 of the final global model's bytes: equal across transports and worker counts */
  readonly finalModelSha256: string;
  /** best pooled accuracy of the personalized models over the evaluation rounds */
  readonly bestPersonalized: { round: number; accuracy: number } | null;
  readonly final: { round: number; results: Record<string, EvalStats> } | null;
  /** client failures of every committed round, per code (the codes of results.csv and the metrics) */
  readonly failures: Record<FailureCode, number>;
  /** runs with a `system` block: virtual seconds from the first round's start to the last's end */
  readonly virtualSeconds?: number;
  /** runs with a `system` block: sampled clients not trained over the whole run, per reason */
  readonly droppedClients?: Record<DropReason, number>;
  /** FedBuff runs: staleness (model versions) of every arrival the plan's flushes take */
  readonly staleness?: StalenessSummary;
}

export interface StalenessSummary {
  readonly updates: number;
  readonly mean: number;
  readonly max: number;
  /** staleness → arrivals with it */
  readonly histogram: Readonly<Record<string, number>>;
}


/**
 * The blob-store layout of a run. Everything a job writes is keyed by run/round/client (and
 * attempt where a retry could race the original), so a re-run overwrites with identical bytes
 * or writes beside, never over something another reader relies on.
 */
const pad = (round: number) => String(round).padStart(6, '0');

export const keys = {
  run: (runId: string) => `runs/${runId}/run.json`,
  partition: (runId: string) => `runs/${runId}/partition.bin`,
  /** the synchronous rounds planned in virtual time (runs with a `system` block) */
  systemPlan: (runId: string) => `runs/${runId}/system-plan.json`,
  /** θ_g^t: the model round t starts from (θ_g^0 is the initial model) */
  global: (runId: string, round: number) => `runs/${runId}/rounds/${pad(round)}/global.bin`,
  instruction: (runId: string, round: number, client: number) =>
    `runs/${runId}/rounds/${pad(round)}/instructions/${client}.bin`,
  update: (runId: string, round: number, client: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/updates/${client}/attempt-${attempt}.bin`,
  /** FedBuff: one dispatch's update (a client may train twice in one round, from different model versions) */
  dispatchUpdate: (runId: string, round: number, dispatch: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/dispatches/${dispatch}/attempt-${attempt}.bin`,
  /** FedBuff: the state one dispatch's training wrote (a client may train twice in a round) */
  dispatchState: (runId: string, round: number, dispatch: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/dispatches/${dispatch}/state-attempt-${attempt}.bin`,
  /** FedBuff: one dispatch's instruction, prepared when the model version it starts from was committed */
  dispatchInstruction: (runId: string, version: number, dispatch: number) =>
    `runs/${runId}/rounds/${pad(version)}/dispatch-instructions/${dispatch}.bin`,
  /** a cohort's partial sum of its accepted updates (weighted-sum algorithms) */
  partial: (runId: string, round: number, cohort: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/partials/${cohort}/attempt-${attempt}.bin`,
  /** a reduce job's sum of a group of cohorts' partials (tree aggregation); the same bytes on every try */
  reduced: (runId: string, round: number, group: number) => `runs/${runId}/rounds/${pad(round)}/reduced/${group}.bin`,
  /** the state a `train` job produced: a state pack holding its one client */
  trainedState: (runId: string, round: number, client: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/state/${client}/attempt-${attempt}.bin`,
  /** the state a cohort job produced: one state pack for all its clients */
  cohortState: (runId: string, round: number, cohort: number, attempt: number) =>
    `runs/${runId}/rounds/${pad(round)}/state/cohort-${cohort}/attempt-${attempt}.bin`,
  /** state rewritten when the server prepares round t (e.g. FedOBP's EMA scores): packs of consecutive clients */
  instructedState: (runId: string, round: number, chunk: number) =>
    `runs/${runId}/rounds/${pad(round)}/instructed-state/chunk-${chunk}.bin`,
  /**
   * One block of the client → state-location map, in the version written at the end of round t
   * (`version` t ≥ 0), or when round 0 was prepared (`version` −1). Immutable once written; the
   * commit record names each block's latest version.
   */
  stateShard: (runId: string, version: number, shard: number) =>
    version < 0
      ? `runs/${runId}/initial-state/shards/${shard}.json`
      : `runs/${runId}/rounds/${pad(version)}/state-shards/${shard}.json`,
  /** how many tries of round t failed for want of clients (engine/round-attempts.ts) */
  roundAttempts: (runId: string, round: number) => `runs/${runId}/rounds/${pad(round)}/failed-attempts.json`,
  /** written last by the aggregation: its presence means round t is committed */
  commit: (runId: string, round: number) => `runs/${runId}/rounds/${pad(round)}/commit.json`,
  evalSummary: (runId: string, round: number) => `runs/${runId}/evals/${pad(round)}.json`,
  roundsPrefix: (runId: string) => `runs/${runId}/rounds/`,
  roundPrefix: (runId: string, round: number) => `runs/${runId}/rounds/${pad(round)}/`,
  initialStatePrefix: (runId: string) => `runs/${runId}/initial-state/`,
  evalsPrefix: (runId: string) => `runs/${runId}/evals/`,
};

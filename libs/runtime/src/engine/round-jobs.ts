import type { JobMetricLabels, StateRefs } from '../jobs/catalog.js';
import type { FlowChild } from '../ports/transport.js';
import { cohortJobId } from './client-results.js';
import { autoCohortSize, planCohorts } from './cohorts.js';
import { instructionKeyFor, trainStateRefs } from './prepare-round.js';
import type { RunContext } from './run-context.js';

/** Clients per train job for a round of `perRound` clients: the config's `cohortSize`, `auto` when absent. */
export function cohortSizeFor(rc: Pick<RunContext, 'config'>, perRound: number): number {
  const configured = rc.config.cohortSize ?? 'auto';
  return configured === 'auto' ? autoCohortSize(perRound) : configured;
}

/**
 * A round's train jobs: one `train` job per client when the cohort size is 1 (and then `cohorts`
 * is absent), else one `trainCohort` job per cohort, whose clients' updates are summed into a
 * partial when the algorithm declares a weighted-sum aggregation.
 */
export function roundJobs(
  rc: Pick<RunContext, 'config' | 'hooks' | 'record' | 'partition'>,
  round: number,
  clients: readonly number[],
  /** the state refs of the round's clients (clients without state absent) */
  state: ReadonlyMap<number, StateRefs>,
  labels: JobMetricLabels,
): { children: FlowChild[]; cohorts?: number[][] } {
  const { hooks, record } = rc;
  const runId = record.runId;
  const clientFields = (clientId: number) => ({
    clientId,
    state: trainStateRefs(rc, state.get(clientId)),
    instructionKey: instructionKeyFor(rc, round, clientId),
  });
  const cohortSize = cohortSizeFor(rc, clients.length);
  if (cohortSize === 1) {
    const children = clients.map((clientId): FlowChild => {
      const pool = hooks.poolOf?.(clientId);
      return { id: String(clientId), kind: 'train', payload: { runId, labels, round, ...clientFields(clientId) }, ...(pool ? { pool } : {}) };
    });
    return { children };
  }
  const cohorts = planCohorts({
    clients,
    cohortSize,
    samplesOf: (clientId) => rc.partition.clients[clientId]?.train.length ?? 0,
    ...(hooks.poolOf ? { poolOf: (clientId: number) => hooks.poolOf!(clientId) } : {}),
  });
  const partialSum = hooks.sumAggregation !== undefined;
  const children = cohorts.map((c): FlowChild => ({
    id: cohortJobId(c.index),
    kind: 'trainCohort',
    payload: { runId, labels, round, cohort: c.index, clients: c.clients.map(clientFields), partialSum },
    ...(c.pool ? { pool: c.pool } : {}),
  }));
  return { children, cohorts: cohorts.map((c) => [...c.clients]) };
}

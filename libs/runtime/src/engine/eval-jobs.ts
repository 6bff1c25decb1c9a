import type { JobMetricLabels, StateRefs } from '../jobs/catalog.js';
import type { FlowChild } from '../ports/transport.js';
import { cohortJobId } from './client-results.js';
import { planCohorts } from './cohorts.js';

export interface EvalJobsInput {
  readonly runId: string;
  readonly labels: JobMetricLabels;
  /** the model version evaluated */
  readonly round: number;
  /** every client evaluated, ascending */
  readonly clients: readonly number[];
  /** the state refs of the evaluated clients (clients without state absent) */
  readonly state: ReadonlyMap<number, StateRefs>;
  /** clients per job; 1 is one `eval` job per client */
  readonly cohortSize: number;
  /** a client's test samples: the cost cohorts are balanced by */
  readonly testSamplesOf: (clientId: number) => number;
  readonly poolOf?: (clientId: number) => string | undefined;
}

/**
 * An evaluation's jobs: one `eval` job per client when the cohort size is 1 (and then `cohorts`
 * is absent), else one `evalCohort` job per cohort, split as train cohorts are (deterministically,
 * by client ids, test sample counts and pools), each replying with every client's own counts.
 */
export function evalJobs(input: EvalJobsInput): { children: FlowChild[]; cohorts?: number[][] } {
  const { runId, labels, round, state, poolOf } = input;
  const stateOf = (clientId: number) => state.get(clientId) ?? {};
  if (input.cohortSize === 1) {
    const children = input.clients.map((clientId): FlowChild => {
      const pool = poolOf?.(clientId);
      return { id: String(clientId), kind: 'eval', payload: { runId, labels, round, clientId, state: stateOf(clientId) }, ...(pool ? { pool } : {}) };
    });
    return { children };
  }
  const cohorts = planCohorts({
    clients: input.clients,
    cohortSize: input.cohortSize,
    samplesOf: input.testSamplesOf,
    ...(poolOf ? { poolOf } : {}),
  });
  const children = cohorts.map((c): FlowChild => ({
    id: cohortJobId(c.index),
    kind: 'evalCohort',
    payload: { runId, labels, round, cohort: c.index, clients: c.clients.map((clientId) => ({ clientId, state: stateOf(clientId) })) },
    ...(c.pool ? { pool: c.pool } : {}),
  }));
  return { children, cohorts: cohorts.map((c) => [...c.clients]) };
}

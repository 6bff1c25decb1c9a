import type { FedBuffStep } from '@fedsim/fl/system';
import type { AggregatePayload, JobMetricLabels, StateRefs } from '../jobs/catalog.js';
import type { FlowChild } from '../ports/transport.js';
import { trainStateRefs } from '../engine/prepare-round.js';
import type { RunContext } from '../engine/run-context.js';
import { fedBuffJobId } from './fedbuff-aggregate.js';

/**
 * A FedBuff round's jobs: one `train` job per arrival of its step, each starting from the model
 * version its client downloaded when dispatched (those versions stay in the store: every round's
 * θ_g is kept), and the arrivals its aggregation rebases by staleness.
 */
export function fedBuffJobs(
  rc: Pick<RunContext, 'hooks' | 'record'>,
  round: number,
  step: FedBuffStep,
  /** the state refs of the step's clients (clients without state absent) */
  state: ReadonlyMap<number, StateRefs>,
  labels: JobMetricLabels,
): { children: FlowChild[]; fedbuff: NonNullable<AggregatePayload['fedbuff']> } {
  const runId = rc.record.runId;
  const children = step.updates.map((u): FlowChild => {
    const pool = rc.hooks.poolOf?.(u.clientId);
    const payload = {
      runId,
      labels,
      round,
      clientId: u.clientId,
      state: trainStateRefs(rc, state.get(u.clientId)),
      instructionKey: null,
      dispatch: { id: u.dispatch, baseVersion: u.baseVersion },
    };
    return { id: fedBuffJobId(u.dispatch), kind: 'train', payload, ...(pool ? { pool } : {}) };
  });
  const arrivals = step.updates.map(({ dispatch, clientId, baseVersion, staleness }) => ({ dispatch, clientId, baseVersion, staleness }));
  return { children, fedbuff: { arrivals } };
}

import type { FedBuffStep } from '@fedsim/fl/system';
import type { AggregatePayload, JobMetricLabels, StateRefs } from '../jobs/catalog.js';
import type { FlowChild } from '../ports/transport.js';
import { keys } from '../engine/keys.js';
import { trainStateRefs } from '../engine/prepare-round.js';
import type { RunContext } from '../engine/run-context.js';
import { dispatchesFrom, fedBuffJobId } from './fedbuff-dispatch.js';

/**
 * A FedBuff round's jobs: one `train` job per arrival of its step, each starting from the model
 * version its client downloaded when dispatched (those versions stay in the store: every round's
 * θ_g is kept), and the arrivals its aggregation rebases by staleness.
 */
export function fedBuffJobs(
  rc: Pick<RunContext, 'hooks' | 'record'>,
  round: number,
  /** the whole plan: round r runs step r; the dispatches its commit prepares start from version r + 1 */
  steps: readonly FedBuffStep[],
  /** the state refs of the step's clients (clients without state absent) */
  state: ReadonlyMap<number, StateRefs>,
  labels: JobMetricLabels,
): { children: FlowChild[]; fedbuff: NonNullable<AggregatePayload['fedbuff']> } {
  const runId = rc.record.runId;
  const step = steps[round]!;
  const children = step.updates.map((u): FlowChild => {
    const pool = rc.hooks.poolOf?.(u.clientId);
    const payload = {
      runId,
      labels,
      round,
      clientId: u.clientId,
      state: trainStateRefs(rc, state.get(u.clientId)),
      // prepared for this dispatch when its base version was committed (prepareDispatches)
      instructionKey: rc.hooks.instruct ? keys.dispatchInstruction(runId, u.baseVersion, u.dispatch) : null,
      dispatch: { id: u.dispatch, baseVersion: u.baseVersion },
    };
    return { id: fedBuffJobId(u.dispatch), kind: 'train', payload, ...(pool ? { pool } : {}) };
  });
  const arrivals = step.updates.map(({ dispatch, clientId, baseVersion, staleness }) => ({ dispatch, clientId, baseVersion, staleness }));
  const nextDispatches = rc.hooks.instruct ? dispatchesFrom(steps, round + 1) : [];
  return { children, fedbuff: { arrivals, ...(nextDispatches.length > 0 ? { nextDispatches } : {}) } };
}

import type { JsonValue } from '@fedsim/fl/algorithms';
import type { FedBuffStep } from '@fedsim/fl/system';
import type { AggregatePayload, StateShardTable } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { keys } from '../engine/keys.js';
import { prepareTargets } from '../engine/prepare-round.js';
import type { RunContext } from '../engine/run-context.js';
import type { StateChanges } from '../engine/client-state/shards.js';

/** A FedBuff round's train job id: one per dispatch, since a client may arrive twice in a round. */
export const fedBuffJobId = (dispatch: number) => `d${dispatch}`;

export type DispatchRef = NonNullable<NonNullable<AggregatePayload['fedbuff']>['nextDispatches']>[number];

/** The trained dispatches that start from model version `version`, in dispatch order (stale and offline ones never train). */
export function dispatchesFrom(steps: readonly FedBuffStep[], version: number): DispatchRef[] {
  return steps
    .flatMap((s) => s.updates)
    .filter((u) => u.baseVersion === version)
    .map(({ dispatch, clientId }) => ({ dispatch, clientId }))
    .sort((a, b) => a.dispatch - b.dispatch);
}

/**
 * The server's preparation (FedOBP patches, FIARSE thresholds) for the dispatches that start from
 * `version`, from that version's model and the client state committed with it; run when the
 * version is committed, keyed by dispatch, so a client dispatched from two versions gets each its own.
 */
export function prepareDispatches(
  store: BlobStore,
  rc: Pick<RunContext, 'hooks' | 'record'>,
  version: number,
  dispatches: readonly DispatchRef[],
  global: Float32Array,
  table: StateShardTable,
  changes: StateChanges,
): Promise<{ reports: Record<string, JsonValue> }> {
  const runId = rc.record.runId;
  const targets = dispatches.map(({ dispatch, clientId }) => ({
    clientId,
    instructionKey: keys.dispatchInstruction(runId, version, dispatch),
    reportKey: fedBuffJobId(dispatch),
  }));
  return prepareTargets(store, rc, version, targets, global, table, changes);
}

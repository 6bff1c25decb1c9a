import { droppedByReason } from '@fedsim/fl/system';
import type { SyncRoundPlan } from '@fedsim/fl/system';
import type { RoundRow, RunSummary } from '../engine/results.js';

/** A round's row with its virtual-time plan (runs with a `system` block); unchanged otherwise. */
export function withVirtualTime(row: RoundRow, plans: readonly SyncRoundPlan[] | null): RoundRow {
  const plan = plans?.[row.round];
  if (!plan) return row;
  return { ...row, virtual: { startSeconds: plan.startSeconds, endSeconds: plan.endSeconds, sampled: plan.sampled, dropped: plan.dropped } };
}

/** The run's virtual-time totals for its summary: the clock at the last round's end, drops per reason. */
export function virtualTotals(plans: readonly SyncRoundPlan[]): Required<Pick<RunSummary, 'virtualSeconds' | 'droppedClients'>> {
  return { virtualSeconds: plans.at(-1)?.endSeconds ?? 0, droppedClients: droppedByReason(plans.flatMap((p) => p.dropped)) };
}

import type { SyncRoundPlan } from '@fedsim/fl/system';
import type { RoundRow } from '../engine/results.js';

/** A round's row with its virtual-time plan (runs with a `system` block); unchanged otherwise. */
export function withVirtualTime(row: RoundRow, plans: readonly SyncRoundPlan[] | null): RoundRow {
  const plan = plans?.[row.round];
  if (!plan) return row;
  return { ...row, virtual: { startSeconds: plan.startSeconds, endSeconds: plan.endSeconds, sampled: plan.sampled, dropped: plan.dropped } };
}

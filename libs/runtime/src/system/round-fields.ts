import type { FedBuffStep } from '@fedsim/fl/system';
import type { RoundRow, VirtualRound } from '../engine/results.js';

export type { VirtualRound } from '../engine/results.js';

/** A round's row with its virtual-time plan (runs with a `system` block); unchanged otherwise. */
export function withVirtualTime(row: RoundRow, plans: readonly VirtualRound[] | null): RoundRow {
  const plan = plans?.[row.round];
  if (!plan) return row;
  const { startSeconds, endSeconds, sampled, dropped, arrivals } = plan;
  return { ...row, virtual: { startSeconds, endSeconds, sampled, dropped, ...(arrivals ? { arrivals } : {}) } };
}

/** FedBuff step `index` as a round: from the previous flush to this one; its arrivals are the clients that trained. */
export function fedBuffVirtualRound(step: FedBuffStep, index: number, steps: readonly FedBuffStep[]): VirtualRound {
  return {
    startSeconds: index === 0 ? 0 : steps[index - 1]!.closesAt,
    endSeconds: step.closesAt,
    sampled: step.updates.map((u) => u.clientId),
    dropped: step.dropped.map((d) => ({ clientId: d.clientId, reason: d.reason })),
    arrivals: step.updates,
  };
}

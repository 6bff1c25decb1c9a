import { droppedByReason } from '@fedsim/fl/system';
import type { FedBuffStep } from '@fedsim/fl/system';
import type { RoundRow, RunSummary, StalenessSummary, VirtualRound } from '../engine/results.js';

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

/** The run's staleness over every planned FedBuff arrival (the updates its rounds aggregate). */
export function stalenessSummary(steps: readonly FedBuffStep[]): StalenessSummary {
  const histogram: Record<string, number> = {};
  let sum = 0;
  let max = 0;
  let updates = 0;
  for (const u of steps.flatMap((s) => s.updates)) {
    histogram[String(u.staleness)] = (histogram[String(u.staleness)] ?? 0) + 1;
    sum += u.staleness;
    max = Math.max(max, u.staleness);
    updates++;
  }
  return { updates, mean: updates > 0 ? sum / updates : 0, max, histogram };
}

/** The run's virtual-time totals for its summary: the clock at the last round's end, drops per reason. */
export function virtualTotals(plans: readonly VirtualRound[]): Required<Pick<RunSummary, 'virtualSeconds' | 'droppedClients'>> {
  return { virtualSeconds: plans.at(-1)?.endSeconds ?? 0, droppedClients: droppedByReason(plans.flatMap((p) => p.dropped)) };
}

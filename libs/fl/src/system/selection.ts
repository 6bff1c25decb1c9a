import { Rng } from '../util/rng.js';
import type { Availability } from './availability.js';
import type { SyncMode } from './config.js';

/** Why a sampled client was not trained; `stale` only in FedBuff (arrives more than maxStaleness versions late). */
export type DropReason = 'deadline' | 'offline' | 'overcommit' | 'stale';
export const DROP_REASONS: readonly DropReason[] = ['deadline', 'offline', 'overcommit', 'stale'];

export interface DroppedClient {
  readonly clientId: number;
  readonly reason: DropReason;
}

/** How many clients were dropped for each reason (every reason present, zeros included). */
export function droppedByReason(dropped: Iterable<DroppedClient>): Record<DropReason, number> {
  const counts = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  for (const d of dropped) counts[d.reason]++;
  return counts;
}

/** One synchronous round in virtual time, decided before any client trains. */
export interface SyncRoundPlan {
  readonly round: number;
  readonly startSeconds: number;
  readonly endSeconds: number;
  /** the clients sampled from those online at the round's start, ascending */
  readonly sampled: readonly number[];
  /** the clients that train: the first K to finish, within the deadline; ascending */
  readonly kept: readonly number[];
  /** sampled clients that do not train, ascending by client id */
  readonly dropped: readonly DroppedClient[];
}

export interface SyncPlanInput {
  readonly seed: number;
  readonly rounds: number;
  readonly numClients: number;
  /** K: clients per round */
  readonly perRound: number;
  readonly mode: SyncMode;
  readonly availability: Availability;
  /** virtual seconds client c needs in round r (download + local steps + upload) */
  readonly secondsOf: (clientId: number, round: number) => number;
}

/**
 * Plans every synchronous round up front: round r starts when round r−1 closed, samples
 * ⌈K · overcommit⌉ clients from those online then (from the stream (seed, 'sample', r), so with
 * everyone online and overcommit 1 it is exactly `sampleClients`), and keeps the first K to
 * finish by the deadline. A client whose online spell ends before it finishes is dropped as
 * `offline`. The round closes when its K-th client finishes, else at the deadline, else when its
 * last client finishes or goes offline.
 */
export function planSyncRounds(input: SyncPlanInput): SyncRoundPlan[] {
  const { seed, rounds, numClients, perRound, mode, availability, secondsOf } = input;
  const plans: SyncRoundPlan[] = [];
  let t = 0;
  for (let round = 0; round < rounds; round++) {
    const plan = planSyncRound(round, t, { seed, numClients, perRound, mode, availability, secondsOf });
    plans.push(plan);
    t = plan.endSeconds;
  }
  return plans;
}

export function planSyncRound(
  round: number,
  start: number,
  input: Omit<SyncPlanInput, 'rounds'>,
): SyncRoundPlan {
  const { seed, numClients, perRound, mode, availability, secondsOf } = input;
  const online: number[] = [];
  for (let c = 0; c < numClients; c++) if (availability.isOnline(c, round, start)) online.push(c);
  const want = Math.min(online.length, Math.ceil(perRound * mode.overcommit));
  const sampled = Rng.derive(seed, 'sample', round)
    .sample(online.length, want)
    .map((i) => online[i]!)
    .sort((a, b) => a - b);

  const dropped: DroppedClient[] = [];
  const finishers: { clientId: number; finish: number }[] = [];
  let lastEvent = start;
  for (const clientId of sampled) {
    const seconds = secondsOf(clientId, round);
    if (!(seconds >= 0) || !Number.isFinite(seconds)) {
      throw new Error(`client ${clientId} needs ${seconds} virtual seconds in round ${round}: profiles and byte sizes must be positive and finite`);
    }
    const finish = start + seconds;
    const until = availability.onlineUntil(clientId, round, start);
    const deadline = mode.deadlineSeconds === undefined ? Infinity : start + mode.deadlineSeconds;
    if (until < finish && until < deadline) {
      dropped.push({ clientId, reason: 'offline' });
      lastEvent = Math.max(lastEvent, until);
    } else if (finish > deadline) {
      dropped.push({ clientId, reason: 'deadline' });
    } else {
      finishers.push({ clientId, finish });
    }
  }
  // Arrival order; ties go to the lower client id so the plan never depends on sort stability.
  finishers.sort((a, b) => a.finish - b.finish || a.clientId - b.clientId);
  const kept = finishers.slice(0, perRound);
  for (const f of finishers.slice(perRound)) dropped.push({ clientId: f.clientId, reason: 'overcommit' });
  dropped.sort((a, b) => a.clientId - b.clientId);

  let end: number;
  if (kept.length === perRound) end = kept.at(-1)!.finish;
  else if (mode.deadlineSeconds !== undefined && dropped.some((d) => d.reason === 'deadline' || d.reason === 'offline')) end = start + mode.deadlineSeconds;
  else end = Math.max(lastEvent, kept.at(-1)?.finish ?? start);
  return {
    round,
    startSeconds: start,
    endSeconds: end,
    sampled,
    kept: kept.map((k) => k.clientId).sort((a, b) => a - b),
    dropped,
  };
}

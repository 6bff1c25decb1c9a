import { z } from 'zod';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeJson, encodeJson } from './json-blobs.js';
import { keys } from './keys.js';
import type { AggregateReply, ClientFailure } from '../jobs/catalog.js';

/**
 * How many tries of a round ended without a commit (fewer accepted clients than
 * failures.minSuccessFraction asks). Such a try is a *finished* flow, and its reply says
 * 'failed': run again under the same flow id, a transport would hand that reply back without
 * training. So the count is kept in the run's store and the next try gets its own flow id
 * (engine/flow-ids.ts): a re-run after a failed round trains it again.
 */
const failedAttemptsSchema = z.object({ failed: z.number().int().min(0) });

export async function failedRoundAttempts(store: BlobStore, runId: string, round: number): Promise<number> {
  const key = keys.roundAttempts(runId, round);
  if (!(await store.exists(key))) return 0;
  const parsed = failedAttemptsSchema.safeParse(decodeJson(await store.get(key)));
  if (!parsed.success) throw new Error(`${key}: not a count of failed round attempts (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data.failed;
}

/**
 * Records that try `attempt` (0-based) of the round failed. Written by the aggregation that found
 * the round short (so a coordinator stopped right after cannot replay it) and again by the
 * coordinator that received the reply (replies of workers that do not write it); idempotent.
 */
export async function recordFailedRoundAttempt(store: BlobStore, runId: string, round: number, attempt: number): Promise<void> {
  if ((await failedRoundAttempts(store, runId, round)) > attempt) return;
  await store.put(keys.roundAttempts(runId, round), encodeJson({ failed: attempt + 1 }));
}

/**
 * The aggregation's outcome when fewer than failures.minSuccessFraction of the round's `planned`
 * updates (`what`: clients, or FedBuff arrivals) were accepted: the try is recorded as failed
 * (see above) and the reply says why. Undefined when enough were accepted.
 */
export async function tooFewAccepted(
  store: BlobStore,
  p: { readonly runId: string; readonly round: number; readonly attempt?: number | undefined },
  minSuccessFraction: number,
  counts: { readonly accepted: number; readonly planned: number; readonly what: string },
  failures: ClientFailure[],
): Promise<AggregateReply | undefined> {
  const required = Math.ceil(minSuccessFraction * counts.planned);
  if (counts.accepted >= required) return undefined;
  await recordFailedRoundAttempt(store, p.runId, p.round, p.attempt ?? 0);
  return {
    round: p.round,
    status: 'failed',
    reason:
      `only ${counts.accepted} of ${counts.planned} ${counts.what} delivered an accepted update; ` +
      `failures.minSuccessFraction=${minSuccessFraction} requires ${required}`,
    failures,
  };
}

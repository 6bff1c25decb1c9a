import { z } from 'zod';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeJson, encodeJson } from './json-blobs.js';
import { keys } from './keys.js';

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

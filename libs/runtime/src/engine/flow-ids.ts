import { randomBytes } from 'node:crypto';
import type { RunRecord } from './run-record.js';

/**
 * Flow ids of a run. They carry the run record's nonce, an identity of the store the run lives
 * in: the same run id started again against a fresh store (same Redis) gets new flows instead of
 * the old run's finished jobs, whose blobs that store never held. Resuming against the same
 * store reuses the nonce, so it picks up the flows still queued. A round tried again after it
 * failed for want of clients also gets a new id (its attempt).
 */
export function flowIdOf(record: Pick<RunRecord, 'runId' | 'nonce'>, purpose: 'train' | 'eval', round: number, attempt = 0): string {
  // records written before nonces existed keep their old ids, so their runs still resume
  const run = record.nonce === undefined ? record.runId : `${record.runId}.${record.nonce}`;
  // A round's first try keeps the id it always had; a try after a failed one
  // (engine/round-attempts.ts) is a new flow, not the failed one's finished jobs.
  return attempt === 0 ? `${run}.${purpose}.${round}` : `${run}.${purpose}.${round}.attempt-${attempt}`;
}

/** A new run's nonce: 48 random bits, hex. */
export const newRunNonce = (): string => randomBytes(6).toString('hex');

import { keepsChunk } from '../train/batches.js';
import type { DeviceProfile } from './profiles.js';

/** What one client moves and computes in a round. */
export interface ClientWork {
  /** bytes the client downloads (global model, its instruction: a FedOBP patch, a FIARSE submodel) */
  readonly downloadBytes: number;
  /** bytes of its update */
  readonly uploadBytes: number;
  /** samples its local steps process (see localSamples) */
  readonly samples: number;
}

/** Virtual seconds from the start of a client's download to the end of its upload. */
export const clientSeconds = (p: DeviceProfile, w: ClientWork): number =>
  w.downloadBytes / p.downBytesPerSecond + w.samples / p.computeSamplesPerSecond + w.uploadBytes / p.upBytesPerSecond;

/** The local-training plan that decides how many samples a client processes. */
export interface LocalPlan {
  readonly batchSize: number;
  readonly epochs: number;
  readonly iterations?: number | undefined;
  /** train/batches.ts's last-batch rule */
  readonly dropLast?: boolean | undefined;
}

/**
 * Samples processed by `trainingBatches` for a client with n samples, counted without drawing
 * the shuffles: an epoch is ⌊n/b⌋ full chunks then the remainder, each kept by the same rule.
 */
export function localSamples(n: number, plan: LocalPlan): number {
  const b = plan.batchSize;
  const full = Math.floor(n / b);
  const rem = n - full * b;
  const fullKept = full > 0 && keepsChunk(b, b, plan.dropLast);
  // An epoch stops at its first skipped chunk, so a skipped full chunk ends it empty.
  if (full > 0 && !fullKept) return 0;
  const short = keepsChunk(rem, b, plan.dropLast) ? 1 : 0;
  const perEpochBatches = full + short;
  const perEpochSamples = full * b + short * rem;
  if (plan.iterations === undefined) return plan.epochs * perEpochSamples;
  if (perEpochBatches === 0) return 0;
  const wholeEpochs = Math.floor(plan.iterations / perEpochBatches);
  const left = plan.iterations - wholeEpochs * perEpochBatches;
  // The next epoch's first `left` batches are full ones: left < perEpochBatches ≤ full + 1.
  return wholeEpochs * perEpochSamples + left * b;
}

import { z } from 'zod';
import type { ChildFailureCode } from '../../jobs/failures.js';

/**
 * A child's failure travels through Redis as BullMQ's `failedReason` text, the only channel
 * BullMQ gives. Our worker writes a non-retryable failure as JSON, so the parent reads its code
 * back as data; BullMQ's own stall text is recognised as `stalled`; anything else is `error`.
 */
const coded = z.object({ code: z.literal('bad_input'), message: z.string() });
/** what BullMQ writes when a job exceeded maxStalledCount (moveStalledJobsToWait) */
const BULLMQ_STALLED = 'job stalled more than allowable limit';

export function encodeFailedReason(code: z.infer<typeof coded>['code'], message: string): string {
  return JSON.stringify({ code, message });
}

export function decodeFailedReason(reason: string): { code: ChildFailureCode; error: string } {
  if (reason === BULLMQ_STALLED) return { code: 'stalled', error: reason };
  if (reason.startsWith('{')) {
    try {
      const r = coded.safeParse(JSON.parse(reason));
      if (r.success) return { code: r.data.code, error: r.data.message };
    } catch {
      // not ours: an ordinary message that happens to start with '{'
    }
  }
  return { code: 'error', error: reason };
}

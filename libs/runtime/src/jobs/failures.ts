import { z } from 'zod';

/**
 * Why a client produced no accepted result, as one vocabulary for the engine, the results files
 * (results.csv, summary.json) and the metric labels.
 *
 * A job that failed: `error` (after its retries), `bad_input` (a non-retryable error: one
 * attempt), `deadline` (not finished in time), `stalled` (its worker vanished too often),
 * `missing` (the transport reported no outcome at all).
 * An update refused by aggregation: `non_finite`, `shape_mismatch` (a valid blob of another
 * model or size), `corrupt` (damaged bytes), `malformed` (a reply that breaks its schema or
 * contradicts the run, e.g. a wrong sample count).
 */
export const JOB_FAILURE_CODES = ['error', 'bad_input', 'deadline', 'stalled', 'missing'] as const;
export const REJECTION_CODES = ['non_finite', 'shape_mismatch', 'corrupt', 'malformed'] as const;
export const failureCodeSchema = z.enum([...JOB_FAILURE_CODES, ...REJECTION_CODES]);
export type FailureCode = z.infer<typeof failureCodeSchema>;
export type JobFailureCode = (typeof JOB_FAILURE_CODES)[number];
export type RejectionCode = (typeof REJECTION_CODES)[number];
/** What a transport reports for a child that failed; `missing` is the parent's own finding. */
export type ChildFailureCode = Exclude<JobFailureCode, 'missing'>;

export const isRejection = (code: FailureCode): code is RejectionCode => (REJECTION_CODES as readonly string[]).includes(code);

/** Failures per code, every code present (0 when none), in the enum's order. */
export function countByCode(failures: readonly { readonly code: FailureCode }[]): Record<FailureCode, number> {
  const counts = Object.fromEntries(failureCodeSchema.options.map((c) => [c, 0])) as Record<FailureCode, number>;
  for (const f of failures) counts[f.code]++;
  return counts;
}

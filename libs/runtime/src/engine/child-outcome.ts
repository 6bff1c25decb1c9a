import type { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import type { ChildOutcome } from '../ports/transport.js';
import type { FailureCode } from '../jobs/failures.js';

/** A child job's outcome as its parsed reply, or the failure every client of the job is recorded with. */
export type DecodedOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: FailureCode; readonly detail: string };

/** No outcome is `missing`; a failed job keeps its code; a reply that breaks its schema is `malformed`. */
export function decodeOutcome<T>(o: ChildOutcome | undefined, schema: z.ZodType<T>, prefix = ''): DecodedOutcome<T> {
  if (!o) return { ok: false, code: 'missing', detail: 'no outcome reported' };
  if (!o.ok) return { ok: false, code: o.code, detail: `${prefix}${o.error}` };
  const parsed = schema.safeParse(o.value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, code: 'malformed', detail: `${prefix}${formatIssues(parsed.error)}` };
}

/** Why a cohort reply's client list is not the cohort's (same ids, same order), or null. */
export function cohortMismatch(cohort: number, named: readonly number[], members: readonly number[]): string | null {
  return named.length !== members.length || named.some((id, i) => id !== members[i])
    ? `cohort ${cohort}: the reply names clients ${named.join(',')}, the cohort is ${members.join(',')}`
    : null;
}

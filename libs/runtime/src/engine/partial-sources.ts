import type { PartialSum } from '@fedsim/fl/aggregation';
import { CodecError } from '@fedsim/fl/params';
import { BlobNotFoundError } from '../errors/store.js';
import type { FailureCode } from '../jobs/failures.js';
import { decodePartial, firstNonFinite } from './blobs.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { prefetchInOrder } from './prefetch.js';
import type { ClientResult, CohortPartialRef } from './client-results.js';
import { forgedPartialKey } from './reply-trust.js';

/** Why a contribution does not count: recorded for each of its clients. */
export interface Refusal {
  readonly code: FailureCode;
  readonly detail: string;
}

/** A stored partial sum (a cohort's, or a reduce job's over several cohorts) and what it must hold. */
export interface PartialSource {
  /** for people: "cohort 3's partial" */
  readonly label: string;
  readonly key: string;
  /** the clients it claims to sum, each weighing what the run's partition gives it */
  readonly clients: readonly number[];
  readonly weight: number;
  /** found wrong before reading (a key the run did not assign, a miscounted client): not read */
  readonly refused: Refusal | null;
}

export type CheckedPartial =
  | { readonly source: PartialSource; readonly partial: PartialSum; readonly refused: null }
  | { readonly source: PartialSource; readonly partial: null; readonly refused: Refusal };

/**
 * Reads partials in the given order (up to `window` ahead) and yields each decoded and checked
 * against what its source claims: size, holder weights exactly when the sum is element-wise,
 * client count and weight, finite sums, holder weights within [0, weight] and no sum over no holder.
 * A store that fails (not a missing key) throws, so the job is retried.
 */
export async function* checkedPartials(
  deps: JobHandlerDeps,
  sources: readonly PartialSource[],
  layout: { readonly size: number; readonly holders: boolean },
  window: number,
): AsyncGenerator<CheckedPartial> {
  const fetch = fetchBlob(deps, (s: PartialSource) => (s.refused ? null : s.key));
  for await (const { ref: source, fetched } of prefetchInOrder(sources, window, fetch)) {
    let refused: Refusal | null = source.refused;
    const partial = refused
      ? null
      : decodeFetched(fetched, (bytes) => decodePartial(bytes, layout.size, layout.holders), (code, detail) => (refused = { code, detail }));
    if (partial && !refused) refused = partialProblem(partial, source);
    if (partial && !refused) yield { source, partial, refused: null };
    else yield { source, partial: null, refused: refused ?? { code: 'malformed', detail: 'unreadable' } };
  }
}

/** Why a decoded partial cannot be the sum of the clients its source names, or null. */
export function partialProblem(partial: PartialSum, expected: { readonly clients: readonly number[]; readonly weight: number }): Refusal | null {
  if (partial.clients !== expected.clients.length || partial.weight !== expected.weight) {
    return {
      code: 'malformed',
      detail: `sums ${partial.clients} clients of weight ${partial.weight}; the partition gives its ${expected.clients.length} clients weight ${expected.weight}`,
    };
  }
  const bad = firstNonFinite(partial.sum);
  if (bad >= 0) return { code: 'non_finite', detail: `element ${bad} is ${partial.sum[bad]}` };
  const holders = partial.holders;
  if (holders) {
    for (let i = 0; i < holders.length; i++) {
      const h = holders[i]!;
      if (!(h >= 0 && h <= partial.weight)) return { code: 'malformed', detail: `element ${i} has holder weight ${h}, outside 0-${partial.weight}` };
      if (h === 0 && partial.sum[i] !== 0) return { code: 'malformed', detail: `element ${i} sums ${partial.sum[i]} over no holder` };
    }
  }
  return null;
}

export type Fetched = { readonly bytes: Uint8Array } | { readonly error: unknown } | null;

/** A fetch that never rejects: a missing or unreadable blob becomes that item's failure, in order. */
export function fetchBlob<T>(deps: JobHandlerDeps, keyOf: (item: T) => string | null) {
  return async (ref: T): Promise<{ ref: T; fetched: Fetched }> => {
    const key = keyOf(ref);
    if (key === null) return { ref, fetched: null };
    try {
      return { ref, fetched: { bytes: await deps.store.get(key) } };
    } catch (error) {
      return { ref, fetched: { error } };
    }
  };
}

/**
 * Decodes a fetched blob, or records why it cannot count: damaged or foreign bytes and a key the
 * store does not hold are the contribution's fault; anything else is the store failing, not the
 * update, and is thrown so the aggregation is retried.
 */
export function decodeFetched<V>(fetched: Fetched, decode: (bytes: Uint8Array) => V, reject: (code: FailureCode, detail: string) => void): V | null {
  if (!fetched) return null;
  if ('error' in fetched) {
    if (fetched.error instanceof BlobNotFoundError) reject('malformed', `the reply names ${fetched.error.key}, which is not in the store`);
    else throw fetched.error;
    return null;
  }
  try {
    return decode(fetched.bytes);
  } catch (err) {
    if (err instanceof CodecError) reject(err.code === 'shape_mismatch' ? 'shape_mismatch' : 'corrupt', err.message);
    else throw err;
    return null;
  }
}

/**
 * A cohort's partial as a source: refused unread when its key is not the one the run assigns to
 * the cohort, or when one of its clients' replies claims a sample count the partition does not
 * give it (a contribution cannot be taken out of a sum, so one bad claim refuses the whole partial).
 */
export function cohortPartialSource(
  ref: CohortPartialRef,
  run: { readonly runId: string; readonly round: number; readonly attempts: number },
  byClient: ReadonlyMap<number, ClientResult>,
  weightOf: (clientId: number) => number,
  samplesOf: (clientId: number) => number,
): PartialSource {
  const base = { label: `cohort ${ref.cohort}'s partial`, key: ref.key, clients: ref.clients, weight: ref.clients.reduce((s, id) => s + weightOf(id), 0) };
  const forgedKey = forgedPartialKey(run.runId, run.round, ref.cohort, run.attempts, ref.key);
  if (forgedKey) return { ...base, refused: { code: 'forged', detail: forgedKey } };
  const miscounted = ref.clients.find((id) => {
    const r = byClient.get(id);
    return !r?.ok || r.numSamples !== samplesOf(id);
  });
  if (miscounted !== undefined) {
    return { ...base, refused: { code: 'forged', detail: `client ${miscounted} reported a sample count the partition does not give it` } };
  }
  return { ...base, refused: null };
}

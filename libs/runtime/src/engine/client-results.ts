import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, StateSection } from '../jobs/catalog.js';
import { trainCohortReplySchema, trainReplySchema } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import { cohortMismatch, decodeOutcome } from './child-outcome.js';

type StateSections = Record<string, StateSection>;

/** What one client's training delivered, whether it ran in a `train` job or inside a cohort. */
export type ClientResult =
  | { readonly clientId: number; readonly ok: false; readonly code: FailureCode; readonly detail: string }
  | {
      readonly clientId: number;
      readonly ok: true;
      /** the stored update; null when the update went into its cohort's partial */
      readonly updateKey: string | null;
      /** the cohort whose job trained it; null for a `train` job */
      readonly cohort: number | null;
      readonly stateKey: string | null;
      readonly stateEntries: StateSections;
      readonly numSamples: number;
      readonly loss: number;
      readonly seconds: number;
      readonly uploadBytes: number;
      readonly downloadBytes: number;
      readonly backend: string;
      readonly worker: string;
    };

/** A cohort's partial sum and the clients the worker says it holds. */
export interface CohortPartialRef {
  readonly cohort: number;
  readonly key: string;
  readonly clients: readonly number[];
}

export interface RoundResults {
  /** every client of the round */
  readonly byClient: ReadonlyMap<number, ClientResult>;
  /** in cohort order */
  readonly partials: readonly CohortPartialRef[];
  /** bytes moved once per cohort job (θ_g, partials), beyond the clients' own */
  readonly jobUploadBytes: number;
  readonly jobDownloadBytes: number;
}

export const cohortJobId = (cohort: number) => `cohort-${cohort}`;

/**
 * The round's child outcomes as one result per client. A cohort job that failed as a whole (its
 * retries spent, its deadline passed) fails each of its clients with the job's code; a reply
 * that breaks its schema or names other clients than the cohort's is `malformed` for all of them.
 */
export function clientResults(
  p: Pick<AggregatePayload, 'clients' | 'cohorts'> & { readonly firstCohort?: number },
  outcomes: readonly ChildOutcome[],
): RoundResults {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const byClient = new Map<number, ClientResult>();
  const failAll = (clients: readonly number[], code: FailureCode, detail: string) => {
    for (const clientId of clients) byClient.set(clientId, { clientId, ok: false, code, detail });
  };
  if (!p.cohorts) {
    for (const clientId of p.clients) {
      const r = decodeOutcome(byId.get(String(clientId)), trainReplySchema);
      if (!r.ok) failAll([clientId], r.code, r.detail);
      else byClient.set(clientId, { clientId, ok: true, cohort: null, ...r.value });
    }
    return { byClient, partials: [], jobUploadBytes: 0, jobDownloadBytes: 0 };
  }

  const partials: CohortPartialRef[] = [];
  let jobUploadBytes = 0;
  let jobDownloadBytes = 0;
  p.cohorts.forEach((members, i) => {
    const cohort = (p.firstCohort ?? 0) + i;
    const r = decodeOutcome(byId.get(cohortJobId(cohort)), trainCohortReplySchema, `cohort ${cohort}: `);
    if (!r.ok) return failAll(members, r.code, r.detail);
    const reply = r.value;
    const mismatch = cohortMismatch(cohort, reply.clients.map((c) => c.clientId), members);
    if (mismatch) return failAll(members, 'malformed', mismatch);
    jobUploadBytes += reply.uploadBytes;
    jobDownloadBytes += reply.downloadBytes;
    for (const c of reply.clients) {
      if (!c.ok) failAll([c.clientId], c.code, c.detail);
      else {
        const { ok: _ok, ...fields } = c;
        byClient.set(c.clientId, { ...fields, ok: true, cohort, backend: reply.backend, worker: reply.worker });
      }
    }
    const inPartial = reply.clients.filter((c) => c.ok && c.updateKey === null).map((c) => c.clientId);
    if (reply.partialKey) partials.push({ cohort, key: reply.partialKey, clients: inPartial });
    else if (inPartial.length > 0) failAll(inPartial, 'malformed', `cohort ${cohort}: clients summed into a partial, but the reply names none`);
  });
  for (const clientId of p.clients) if (!byClient.has(clientId)) failAll([clientId], 'missing', 'in no cohort of the round');
  return { byClient, partials, jobUploadBytes, jobDownloadBytes };
}

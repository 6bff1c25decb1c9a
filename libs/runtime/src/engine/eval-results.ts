import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import type { ChildOutcome } from '../ports/transport.js';
import type { EvalReply, EvalSummaryPayload } from '../jobs/catalog.js';
import { evalCohortReplySchema, evalReplySchema } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import { cohortJobId } from './client-results.js';
import { cohortMismatch, decodeOutcome } from './child-outcome.js';

const clientReplySchema = evalCohortReplySchema.shape.clients.element;
const cohortEnvelopeSchema = evalCohortReplySchema.extend({ clients: z.array(z.object({ clientId: z.number().int().min(0) }).loose()) });

/** What one client's evaluation delivered, whether it ran in an `eval` job or inside a cohort. */
export type EvalClientResult =
  | { readonly ok: true; readonly results: EvalReply['results'] }
  | { readonly ok: false; readonly code: FailureCode; readonly detail: string };

/**
 * The evaluation's child outcomes as one result per client asked (a transport may deliver a job
 * twice: the last outcome per job counts, once). A cohort job that failed as a whole fails each of
 * its clients with the job's code; a cohort reply that breaks its schema or names other clients
 * than the cohort's is `malformed` for all of them. Counts are not checked here.
 */
export function evalClientResults(p: EvalSummaryPayload, outcomes: readonly ChildOutcome[]): Map<number, EvalClientResult> {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const byClient = new Map<number, EvalClientResult>();
  const failAll = (clients: readonly number[], code: FailureCode, detail: string) => {
    for (const clientId of clients) byClient.set(clientId, { ok: false, code, detail });
  };
  if (!p.cohorts) {
    for (const clientId of new Set(p.clients)) {
      const r = decodeOutcome(byId.get(String(clientId)), evalReplySchema);
      byClient.set(clientId, r.ok ? { ok: true, results: r.value.results } : r);
    }
    return byClient;
  }
  p.cohorts.forEach((members, cohort) => {
    const r = decodeOutcome(byId.get(cohortJobId(cohort)), cohortEnvelopeSchema, `cohort ${cohort}: `);
    if (!r.ok) return failAll(members, r.code, r.detail);
    const mismatch = cohortMismatch(cohort, r.value.clients.map((c) => c.clientId), members);
    if (mismatch) return failAll(members, 'malformed', mismatch);
    // Each client's entry is checked on its own: one client's bad counts (a NaN loss) are its failure, as in an `eval` job.
    for (const entry of r.value.clients) {
      const c = clientReplySchema.safeParse(entry);
      if (!c.success) failAll([entry.clientId], 'malformed', formatIssues(c.error));
      else byClient.set(c.data.clientId, c.data.ok ? { ok: true, results: c.data.results } : { ok: false, code: c.data.code, detail: c.data.detail });
    }
  });
  for (const clientId of p.clients) if (!byClient.has(clientId)) failAll([clientId], 'missing', 'in no cohort of the evaluation');
  return byClient;
}

import { partialSumAccumulator } from '@fedsim/fl/aggregation';
import type { ChildOutcome } from '../ports/transport.js';
import type { ReducePayload, ReduceReply } from '../jobs/catalog.js';
import { encodePartial } from './blobs.js';
import { clientResults } from './client-results.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { keys } from './keys.js';
import { checkedPartials, cohortPartialSource } from './partial-sources.js';
import { workerIdentity } from './train-cohort.js';

/** Partials a reduce job reads ahead of its sum (bounded memory). */
const FETCH_WINDOW = 8;

/**
 * A tree aggregation's inner job: once a group's cohort jobs are done, sums their partials (in
 * cohort order, float64, each checked as the aggregation checks a cohort's partial) into one
 * partial the aggregation reads instead of the group's. A failed cohort or a refused partial
 * leaves the rest of the group summed; the reply passes the cohorts' outcomes on, so the
 * aggregation still records every client, and it says which partials it summed and which it
 * refused, so the aggregation can check the sum's weight against the run's partition.
 * Deterministic: a retried or repeated job writes the same bytes to the same key.
 */
export async function reduceGroup(deps: JobHandlerDeps, p: ReducePayload, outcomes: readonly ChildOutcome[]): Promise<ReduceReply> {
  const started = performance.now();
  const rc = await deps.contexts.get(p.runId);
  const sum = rc.hooks.sumAggregation;
  if (!sum) throw new Error(`reduce: algorithm '${rc.config.algorithm.name}' declares no sum aggregation, so there are no partials to reduce`);
  const results = clientResults({ clients: p.cohorts.flat(), cohorts: p.cohorts, firstCohort: p.firstCohort }, outcomes);
  const samplesOf = (clientId: number) => rc.partition.clients[clientId]?.train.length ?? 0;
  const weightOf = (clientId: number) => (sum.weighted ? samplesOf(clientId) : 1);
  const run = { runId: p.runId, round: p.round, attempts: rc.config.failures.attempts };
  const sources = results.partials.map((ref) => cohortPartialSource(ref, run, results.byClient, weightOf, samplesOf));

  const total = partialSumAccumulator(rc.uploadSpec.size, sum);
  const summed: number[] = [];
  const refused: ReduceReply['refused'] = [];
  let at = 0;
  for await (const c of checkedPartials(deps, sources, { size: rc.uploadSpec.size, holders: sum.holders !== undefined }, FETCH_WINDOW)) {
    const cohort = results.partials[at++]!.cohort;
    if (c.refused) refused.push({ cohort, code: c.refused.code, detail: c.refused.detail });
    else {
      total.addPartial(c.partial);
      summed.push(cohort);
    }
  }
  let partialKey: string | null = null;
  if (summed.length > 0) {
    partialKey = keys.reduced(p.runId, p.round, p.group);
    await deps.store.put(partialKey, encodePartial(total.result(), { round: p.round, group: p.group }));
  }
  return {
    outcomes: [...outcomes],
    partialKey,
    summed,
    refused,
    partialsRead: sources.filter((s) => !s.refused).length,
    seconds: (performance.now() - started) / 1000,
    worker: workerIdentity,
  };
}

import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, AggregateReply, ClientFailure, CommitRecord, StateSection } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import { decodeModel, encodeModel, firstNonFinite } from './blobs.js';
import { clientResults } from './client-results.js';
import type { ClientResult } from './client-results.js';
import { prefetchInOrder } from './prefetch.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { encodeJson } from './json-blobs.js';
import { keys } from './keys.js';
import { prepareRound } from './prepare-round.js';
import { assertAggregateInRun, forgedTrainKeys } from './reply-trust.js';
import { tooFewAccepted } from './round-attempts.js';
import { checkedPartials, cohortPartialSource, decodeFetched, fetchBlob } from './partial-sources.js';
import { treeRound } from './tree-round.js';
import type { Refusal } from './partial-sources.js';
import { assertNoStorageFailures } from './storage-failures.js';
import { refsOf } from './client-state/pack.js';
import { StateChanges, writeStateShards } from './client-state/shards.js';

/**
 * The round's parent job: streams accepted updates (in client order, one in memory at a time)
 * into θ_g^{t+1}, records failures and rejections as data, prepares the next round's
 * instructions, and commits. Writes are idempotent, and the commit record is written last, so a
 * retried aggregation produces the same bytes.
 */
export async function aggregateRound(
  deps: JobHandlerDeps,
  p: AggregatePayload,
  outcomes: readonly ChildOutcome[],
): Promise<AggregateReply> {
  const started = performance.now();
  const rc = await deps.contexts.get(p.runId);
  assertAggregateInRun(p, rc.partition.numClients);
  const { config, model, hooks, partition } = rc;
  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), model.spec);
  const aggregator = hooks.createAggregator(global, p.round);

  const failures: ClientFailure[] = [];
  const accepted: { clientId: number; stateKey: string | null; stateEntries: Record<string, StateSection>; loss: number; numSamples: number }[] = [];
  let trainSeconds = 0;
  // The weight comes from the run's own partition, never from what a worker claims.
  const samplesOf = (clientId: number) => partition.clients[clientId]?.train.length ?? 0;
  const sum = hooks.sumAggregation;
  const weightOf = (clientId: number) => (sum?.weighted ? samplesOf(clientId) : 1);
  const { attempts } = config.failures;
  const run = { runId: p.runId, round: p.round, attempts };
  // a tree round's clients and partials come through its reduce jobs, a flat round's from its cohorts
  const tree = p.tree ? treeRound(p, run, weightOf, samplesOf) : null;
  const results = tree?.results ?? clientResults(p, outcomes);
  let uploadBytes = results.jobUploadBytes;
  let downloadBytes = results.jobDownloadBytes;
  const backends = new Set<string>();
  const workers = new Set<string>();
  const fail = (clientId: number, code: FailureCode, detail: string) => failures.push({ clientId, kind: 'train', code, detail });
  const forgedKeysOf = (r: ClientResult) => (r.ok ? forgedTrainKeys(p.runId, p.round, r.clientId, attempts, r) : null);

  // Partials first, in cohort order; a partial that fails its checks drops its clients (recorded below).
  const rejectedPartial = new Map<number, Refusal>();
  if (results.partials.length > 0 && (sum === undefined || !aggregator.addPartial)) {
    throw new Error(`round ${p.round} has cohort partials, but algorithm '${config.algorithm.name}' does not aggregate by a sum`);
  }
  const sources = tree?.sources ?? results.partials.map((ref) => cohortPartialSource(ref, run, results.byClient, weightOf, samplesOf));
  let reads = sources.filter((s) => !s.refused).length;
  const layout = { size: rc.uploadSpec.size, holders: sum?.holders !== undefined };
  for await (const c of checkedPartials(deps, sources, layout, FETCH_WINDOW)) {
    if (c.refused) for (const id of c.source.clients) rejectedPartial.set(id, { code: c.refused.code, detail: `${c.source.label}: ${c.refused.detail}` });
    else aggregator.addPartial!(c.partial);
  }

  const inClientOrder = [...p.clients].sort((a, b) => a - b).map((clientId) => results.byClient.get(clientId)!);
  // only keys the run assigned are read: a forged one never reaches the store
  const updateKeyOf = (r: ClientResult) =>
    r.ok && r.updateKey !== null && r.numSamples === samplesOf(r.clientId) && forgedKeysOf(r) === null ? r.updateKey : null;
  const fetchUpdate = fetchBlob(deps, (r: ClientResult) => updateKeyOf(r));
  reads += inClientOrder.filter((r) => updateKeyOf(r) !== null).length;
  for await (const { ref: r, fetched } of prefetchInOrder(inClientOrder, FETCH_WINDOW, fetchUpdate)) {
    const clientId = r.clientId;
    if (!r.ok) {
      fail(clientId, r.code, r.detail);
      continue;
    }
    const rejected = rejectedPartial.get(clientId);
    if (rejected) {
      fail(clientId, rejected.code, rejected.detail);
      continue;
    }
    const forgedKey = forgedKeysOf(r);
    if (forgedKey) {
      fail(clientId, 'forged', forgedKey);
      continue;
    }
    const numSamples = samplesOf(clientId);
    if (r.numSamples !== numSamples) {
      fail(clientId, 'forged', `reported ${r.numSamples} samples, the partition gives it ${numSamples}`);
      continue;
    }
    if (r.updateKey !== null) {
      const values = decodeFetched(fetched, (bytes) => decodeModel(bytes, rc.uploadSpec), (code, detail) => fail(clientId, code, detail));
      if (!values) continue;
      const bad = firstNonFinite(values);
      if (bad >= 0) {
        fail(clientId, 'non_finite', `element ${bad} is ${values[bad]}`);
        continue;
      }
      aggregator.add({ clientId, numSamples, values });
    }
    accepted.push({ clientId, stateKey: r.stateKey, stateEntries: r.stateEntries, loss: r.loss, numSamples });
    trainSeconds += r.seconds;
    uploadBytes += r.uploadBytes;
    downloadBytes += r.downloadBytes;
    backends.add(r.backend);
    workers.add(r.worker);
  }

  assertNoStorageFailures(`round ${p.round}`, failures);
  const short = await tooFewAccepted(deps.store, p, config.failures.minSuccessFraction, { accepted: accepted.length, planned: p.clients.length, what: 'clients' }, failures);
  if (short) return short;

  const next = aggregator.finish();
  // what a robust or DP aggregation did (clipped updates, noise σ), kept with the round
  const aggregation = aggregator.report?.();
  const bad = firstNonFinite(next);
  if (bad >= 0) throw new Error(`aggregation of round ${p.round} produced a non-finite element at ${bad}`);
  const nextGlobalKey = keys.global(p.runId, p.round + 1);
  await deps.store.put(nextGlobalKey, encodeModel(model.spec, next, { round: p.round + 1 }));

  const changes = new StateChanges();
  for (const a of accepted) changes.set(a.clientId, refsOf(a.stateKey, a.stateEntries));

  let prepareReports = {};
  const nextRound = p.round + 1;
  if (nextRound < config.rounds) {
    prepareReports = (await prepareRound(deps.store, rc, nextRound, p.nextClients, next, p.previousStateShards, changes)).reports;
  }
  const stateShards = await writeStateShards(deps.store, p.runId, p.round, p.previousStateShards, changes);

  const weight = accepted.reduce((s, a) => s + a.numSamples, 0);
  const commit: CommitRecord = {
    round: p.round,
    status: 'committed',
    nextGlobalKey,
    stateShards,
    succeeded: accepted.map((a) => a.clientId),
    failures,
    trainLoss: weight > 0 ? accepted.reduce((s, a) => s + a.loss * a.numSamples, 0) / weight : null,
    trainSeconds,
    uploadBytes,
    downloadBytes,
    backends: [...backends].sort(),
    workers: [...workers].sort(),
    prepareReports,
    ...(aggregation ? { aggregation } : {}),
    aggregateSeconds: (performance.now() - started) / 1000,
    reads: { aggregate: reads, reduceJobs: tree?.reduceJobs ?? 0, maxPerReduceJob: tree?.maxPerReduceJob ?? 0 },
    ...(tree ? { reduceSeconds: tree.maxReduceSeconds } : {}),
  };
  await deps.store.put(keys.commit(p.runId, p.round), encodeJson(commit));
  return commit;
}

/** Updates and partials fetched ahead of the sum that consumes them in order (bounded memory). */
export const FETCH_WINDOW = 16;

import { gatherTensors } from '@fedsim/fl';
import { stalenessDiscount } from '@fedsim/fl/system';
import { formatIssues } from '@fedsim/fl/util';
import { InvalidJobError } from '../errors/non-retryable.js';
import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, AggregateReply, ClientFailure, CommitRecord, TrainReply } from '../jobs/catalog.js';
import { trainReplySchema } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import { decodeModel, encodeModel, firstNonFinite } from '../engine/blobs.js';
import { FETCH_WINDOW } from '../engine/aggregate.js';
import { decodeFetched, fetchBlob } from '../engine/partial-sources.js';
import type { JobHandlerDeps } from '../engine/job-handler-deps.js';
import { encodeJson } from '../engine/json-blobs.js';
import { keys } from '../engine/keys.js';
import { prefetchInOrder } from '../engine/prefetch.js';
import { assertAggregateInRun, forgedTrainKeys } from '../engine/reply-trust.js';
import { assertNoStorageFailures } from '../engine/storage-failures.js';
import { tooFewAccepted } from '../engine/round-attempts.js';
import { fedBuffJobId, prepareDispatches } from './fedbuff-dispatch.js';
import { refsOf } from '../engine/client-state/pack.js';
import { StateChanges, writeStateShards } from '../engine/client-state/shards.js';

export type FedBuffArrival = NonNullable<AggregatePayload['fedbuff']>['arrivals'][number];

type ArrivalResult = { readonly arrival: FedBuffArrival } & (
  | { readonly ok: false; readonly code: FailureCode; readonly detail: string }
  | { readonly ok: true; readonly reply: TrainReply }
);

/**
 * A FedBuff round's parent job: one buffer flush. Each arrival's upload is rebased onto the
 * current model as θ_v + s(τ)·(θ_i − θ_base) (a `delta` upload is scaled by s(τ)) and handed to
 * the algorithm's own aggregator, in arrival order; the sample-weighted mean then gives
 * θ_v + Σ n_i·s(τ_i)·(θ_i − θ_base_i) / Σ n_j, FedBuff's step (libs/fl/src/system/fedbuff.ts),
 * and robust or DP aggregators see staleness-discounted updates relative to θ_v.
 */
export async function aggregateFedBuff(
  deps: JobHandlerDeps,
  p: AggregatePayload,
  arrivals: readonly FedBuffArrival[],
  outcomes: readonly ChildOutcome[],
): Promise<AggregateReply> {
  const started = performance.now();
  const rc = await deps.contexts.get(p.runId);
  assertAggregateInRun(p, rc.partition.numClients);
  const { config, model, hooks, partition } = rc;
  const mode = config.system?.mode;
  if (mode?.kind !== 'fedbuff') throw new InvalidJobError(`aggregate job: round ${p.round} names FedBuff arrivals, run ${p.runId} is not a FedBuff run`);
  const late = arrivals.find((a) => a.baseVersion > p.round || a.staleness !== p.round - a.baseVersion);
  if (late) throw new InvalidJobError(`aggregate job: dispatch ${late.dispatch} claims version ${late.baseVersion}, staleness ${late.staleness} in round ${p.round}`);

  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), model.spec);
  const current = gatherTensors(model.spec, global, hooks.shared);
  const aggregator = hooks.createAggregator(global, p.round);
  const baseCache = new Map<number, Float32Array>();
  const baseOf = async (version: number) => {
    let base = baseCache.get(version);
    if (!base) {
      base = gatherTensors(model.spec, decodeModel(await deps.store.get(keys.global(p.runId, version)), model.spec), hooks.shared);
      baseCache.set(version, base);
    }
    return base;
  };

  const samplesOf = (clientId: number) => partition.clients[clientId]?.train.length ?? 0;
  const results = arrivalResults(arrivals, outcomes).map((r): ArrivalResult => {
    if (!r.ok) return r;
    const { clientId, dispatch } = r.arrival;
    const forged = forgedTrainKeys(p.runId, p.round, clientId, config.failures.attempts, { ...r.reply, cohort: null }, dispatch);
    if (forged) return { arrival: r.arrival, ok: false, code: 'forged', detail: forged };
    if (r.reply.numSamples !== samplesOf(clientId)) {
      return { arrival: r.arrival, ok: false, code: 'forged', detail: `reported ${r.reply.numSamples} samples, the partition gives it ${samplesOf(clientId)}` };
    }
    return r;
  });

  const failures: ClientFailure[] = [];
  const accepted: { arrival: FedBuffArrival; reply: TrainReply; discount: number }[] = [];
  const fetchUpdate = fetchBlob(deps, (r: ArrivalResult) => (r.ok ? r.reply.updateKey : null));
  for await (const { ref: r, fetched } of prefetchInOrder(results, FETCH_WINDOW, fetchUpdate)) {
    const { clientId, staleness, baseVersion } = r.arrival;
    const fail = (code: FailureCode, detail: string) => failures.push({ clientId, kind: 'train', code, detail: `dispatch ${r.arrival.dispatch}: ${detail}` });
    if (!r.ok) {
      fail(r.code, r.detail);
      continue;
    }
    const values = decodeFetched(fetched, (bytes) => decodeModel(bytes, rc.uploadSpec), fail);
    if (!values) continue;
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      fail('non_finite', `element ${bad} is ${values[bad]}`);
      continue;
    }
    const discount = stalenessDiscount(mode.staleness, staleness);
    const rebased = hooks.upload === 'delta' ? scaled(values, discount) : rebase(current, values, await baseOf(baseVersion), discount);
    aggregator.add({ clientId, numSamples: r.reply.numSamples, values: rebased });
    accepted.push({ arrival: r.arrival, reply: r.reply, discount });
  }

  assertNoStorageFailures(`round ${p.round}`, failures);
  // as in a synchronous round: the store counts the failed try, so a re-run trains the flush again
  const short = await tooFewAccepted(deps.store, p, config.failures.minSuccessFraction, { accepted: accepted.length, planned: arrivals.length, what: 'FedBuff arrivals' }, failures);
  if (short) return short;

  const next = aggregator.finish();
  const bad = firstNonFinite(next);
  if (bad >= 0) throw new Error(`FedBuff aggregation of round ${p.round} produced a non-finite element at ${bad}`);
  const nextGlobalKey = keys.global(p.runId, p.round + 1);
  await deps.store.put(nextGlobalKey, encodeModel(model.spec, next, { round: p.round + 1 }));

  // Later arrivals of a client override earlier ones (only a client whose training reads no state, e.g. FedOBP, arrives twice in a round).
  const changes = new StateChanges();
  for (const a of accepted) changes.set(a.arrival.clientId, refsOf(a.reply.stateKey, a.reply.stateEntries));
  // the dispatches that start from the version just made get their instructions now (FedOBP, FIARSE)
  const prepared = await prepareDispatches(deps.store, rc, p.round + 1, p.fedbuff?.nextDispatches ?? [], next, p.previousStateShards, changes);
  const stateShards = await writeStateShards(deps.store, p.runId, p.round, p.previousStateShards, changes);

  const weight = accepted.reduce((s, a) => s + a.reply.numSamples, 0);
  const sum = (f: (a: (typeof accepted)[number]) => number) => accepted.reduce((s, a) => s + f(a), 0);
  const commit: CommitRecord = {
    round: p.round,
    status: 'committed',
    nextGlobalKey,
    stateShards,
    succeeded: accepted.map((a) => a.arrival.clientId),
    failures,
    trainLoss: weight > 0 ? sum((a) => a.reply.loss * a.reply.numSamples) / weight : null,
    trainSeconds: sum((a) => a.reply.seconds),
    uploadBytes: sum((a) => a.reply.uploadBytes),
    downloadBytes: sum((a) => a.reply.downloadBytes),
    backends: [...new Set(accepted.map((a) => a.reply.backend))].sort(),
    workers: [...new Set(accepted.map((a) => a.reply.worker))].sort(),
    // keyed by job id (d<dispatch>): what the server prepared for the dispatches starting from this version
    prepareReports: prepared.reports,
    aggregation: {
      ...aggregator.report?.(),
      // per accepted arrival: the discount its update was scaled by; its weight is n_i·discount / Σ n
      fedbuff: accepted.map((a) => ({ dispatch: a.arrival.dispatch, clientId: a.arrival.clientId, staleness: a.arrival.staleness, discount: a.discount })),
    },
    aggregateSeconds: (performance.now() - started) / 1000,
  };
  await deps.store.put(keys.commit(p.runId, p.round), encodeJson(commit));
  return commit;
}

/** One result per arrival, in arrival order, from the round's `train` job outcomes. */
function arrivalResults(arrivals: readonly FedBuffArrival[], outcomes: readonly ChildOutcome[]): ArrivalResult[] {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  return arrivals.map((arrival): ArrivalResult => {
    const o = byId.get(fedBuffJobId(arrival.dispatch));
    if (!o) return { arrival, ok: false, code: 'missing', detail: 'no outcome reported' };
    if (!o.ok) return { arrival, ok: false, code: o.code, detail: o.error };
    const reply = trainReplySchema.safeParse(o.value);
    return reply.success ? { arrival, ok: true, reply: reply.data } : { arrival, ok: false, code: 'malformed', detail: formatIssues(reply.error) };
  });
}

/** θ_v + s·(θ_i − θ_base), computed in float64 per element. */
function rebase(current: Float32Array, trained: Float32Array, base: Float32Array, discount: number): Float32Array {
  const out = new Float32Array(current.length);
  for (let i = 0; i < out.length; i++) out[i] = current[i]! + discount * (trained[i]! - base[i]!);
  return out;
}

function scaled(values: Float32Array, discount: number): Float32Array {
  if (discount === 1) return values;
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = discount * values[i]!;
  return out;
}

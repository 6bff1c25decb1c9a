import { CodecError } from '@fedsim/fl/params';
import { formatIssues } from '@fedsim/fl/util';
import { BlobNotFoundError } from '../errors/store.js';
import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, AggregateReply, ClientFailure, CommitRecord } from '../jobs/catalog.js';
import { trainReplySchema } from '../jobs/catalog.js';
import type { FailureCode } from '../jobs/failures.js';
import { decodeModel, encodeModel, firstNonFinite } from './blobs.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { encodeJson } from './json-blobs.js';
import { keys } from './keys.js';
import { prepareRound } from './prepare-round.js';
import { readStateIndex, withEntries } from './state-index.js';
import type { StateIndex } from './state-index.js';

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
  const { config, model, hooks, partition } = rc;
  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), model.spec);
  const aggregator = hooks.createAggregator(global, p.round);

  const failures: ClientFailure[] = [];
  const accepted: { clientId: number; stateKey: string | null; stateEntries: string[]; loss: number; numSamples: number }[] = [];
  let trainSeconds = 0;
  let uploadBytes = 0;
  let downloadBytes = 0;
  const backends = new Set<string>();
  const workers = new Set<string>();
  const fail = (clientId: number, code: FailureCode, detail: string) => failures.push({ clientId, kind: 'train', code, detail });

  const byId = new Map(outcomes.map((o) => [o.id, o]));
  for (const clientId of [...p.clients].sort((a, b) => a - b)) {
    const o = byId.get(String(clientId));
    if (!o) {
      fail(clientId, 'missing', 'no outcome reported');
      continue;
    }
    if (!o.ok) {
      fail(clientId, o.code, o.error);
      continue;
    }
    const reply = trainReplySchema.safeParse(o.value);
    if (!reply.success) {
      fail(clientId, 'malformed', formatIssues(reply.error));
      continue;
    }
    const r = reply.data;
    // The weight comes from the run's own partition, never from what a worker claims.
    const numSamples = partition.clients[clientId]?.train.length ?? 0;
    if (r.numSamples !== numSamples) {
      fail(clientId, 'malformed', `reported ${r.numSamples} samples, the partition gives it ${numSamples}`);
      continue;
    }
    let values: Float32Array;
    try {
      values = decodeModel(await deps.store.get(r.updateKey), rc.uploadSpec);
    } catch (err) {
      if (err instanceof CodecError) fail(clientId, err.code === 'shape_mismatch' ? 'shape_mismatch' : 'corrupt', err.message);
      else if (err instanceof BlobNotFoundError) fail(clientId, 'malformed', `the reply names update ${r.updateKey}, which is not in the store`);
      // anything else is the store failing, not the update: let the aggregation be retried
      else throw err;
      continue;
    }
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      fail(clientId, 'non_finite', `element ${bad} is ${values[bad]}`);
      continue;
    }
    aggregator.add({ clientId, numSamples, values });
    accepted.push({ clientId, stateKey: r.stateKey, stateEntries: r.stateEntries, loss: r.loss, numSamples });
    trainSeconds += r.seconds;
    uploadBytes += r.uploadBytes;
    downloadBytes += r.downloadBytes;
    backends.add(r.backend);
    workers.add(r.worker);
  }

  const required = Math.ceil(config.failures.minSuccessFraction * p.clients.length);
  if (accepted.length < required) {
    return {
      round: p.round,
      status: 'failed',
      reason:
        `only ${accepted.length} of ${p.clients.length} clients delivered an accepted update; ` +
        `failures.minSuccessFraction=${config.failures.minSuccessFraction} requires ${required}`,
      failures,
    };
  }

  const next = aggregator.finish();
  const bad = firstNonFinite(next);
  if (bad >= 0) throw new Error(`aggregation of round ${p.round} produced a non-finite element at ${bad}`);
  const nextGlobalKey = keys.global(p.runId, p.round + 1);
  await deps.store.put(nextGlobalKey, encodeModel(model.spec, next, { round: p.round + 1 }));

  let index: StateIndex = await readStateIndex(deps.store, p.previousStateIndexKey);
  for (const a of accepted) if (a.stateKey) index = withEntries(index, a.clientId, a.stateKey, a.stateEntries);

  let prepareReports = {};
  const nextRound = p.round + 1;
  if (nextRound < config.rounds) {
    const prepared = await prepareRound(deps.store, rc, nextRound, p.nextClients, next, index);
    index = prepared.index;
    prepareReports = prepared.reports;
  }
  const stateIndexKey = keys.stateIndex(p.runId, p.round);
  await deps.store.put(stateIndexKey, encodeJson(index));

  const weight = accepted.reduce((s, a) => s + a.numSamples, 0);
  const commit: CommitRecord = {
    round: p.round,
    status: 'committed',
    nextGlobalKey,
    stateIndexKey,
    succeeded: accepted.map((a) => a.clientId),
    failures,
    trainLoss: weight > 0 ? accepted.reduce((s, a) => s + a.loss * a.numSamples, 0) / weight : null,
    trainSeconds,
    uploadBytes,
    downloadBytes,
    backends: [...backends].sort(),
    workers: [...workers].sort(),
    prepareReports,
    aggregateSeconds: (performance.now() - started) / 1000,
  };
  await deps.store.put(keys.commit(p.runId, p.round), encodeJson(commit));
  return commit;
}

import { clientsPerRound, sampleClients } from '@fedsim/fl/algorithms/index';
import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, AggregateReply, ClientFailure, CommitRecord } from '../jobs/catalog.js';
import { trainReplySchema } from '../jobs/catalog.js';
import { decodeModel, encodeModel, firstNonFinite } from './blobs.js';
import type { JobHandlerDeps } from './handlers.js';
import { keys } from './keys.js';
import type { StateIndex } from './prepare.js';
import { prepareRound, withEntries } from './prepare.js';
import { decodeJson, encodeJson } from './run-record.js';

/** The reasons an update is rejected before aggregation; also the metric label values. */
export type RejectReason = 'corrupt' | 'non-finite' | 'wrong-size' | 'bad-reply' | 'missing';

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
  const reject = (clientId: number, reason: RejectReason, detail: string) =>
    failures.push({ clientId, reason: `rejected (${reason}): ${detail}` });

  const byId = new Map(outcomes.map((o) => [o.id, o]));
  for (const clientId of [...p.clients].sort((a, b) => a - b)) {
    const o = byId.get(String(clientId));
    if (!o) {
      failures.push({ clientId, reason: 'no outcome reported' });
      continue;
    }
    if (!o.ok) {
      failures.push({ clientId, reason: o.error });
      continue;
    }
    const reply = trainReplySchema.safeParse(o.value);
    if (!reply.success) {
      reject(clientId, 'bad-reply', reply.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      continue;
    }
    const r = reply.data;
    // The weight comes from the run's own partition, never from what a worker claims.
    const numSamples = partition.clients[clientId]?.train.length ?? 0;
    if (r.numSamples !== numSamples) {
      reject(clientId, 'bad-reply', `reported ${r.numSamples} samples, the partition gives it ${numSamples}`);
      continue;
    }
    let values: Float32Array;
    try {
      values = decodeModel(await deps.store.get(r.updateKey), rc.uploadSpec);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      reject(clientId, /size|length|layout|fingerprint/i.test(message) ? 'wrong-size' : 'corrupt', message);
      continue;
    }
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      reject(clientId, 'non-finite', `element ${bad} is ${values[bad]}`);
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

  const previous: StateIndex = p.previousStateIndexKey
    ? (decodeJson(await deps.store.get(p.previousStateIndexKey)) as StateIndex)
    : {};
  let index: StateIndex = previous;
  for (const a of accepted) if (a.stateKey) index = withEntries(index, a.clientId, a.stateKey, a.stateEntries);

  let prepareReports = {};
  const nextRound = p.round + 1;
  if (nextRound < config.rounds) {
    const perRound = clientsPerRound(partition.numClients, config.joinRatio);
    const nextClients = sampleClients(config.seed, nextRound, partition.numClients, perRound);
    const prepared = await prepareRound(deps.store, rc, nextRound, nextClients, next, index);
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

import { hostname } from 'node:os';
import { partialSumAccumulator } from '@fedsim/fl/aggregation';
import { isNonRetryable } from '../errors/non-retryable.js';
import type { ChildContext } from '../ports/transport.js';
import type { CohortClientReply, TrainCohortPayload, TrainCohortReply } from '../jobs/catalog.js';
import { decodeModel, encodeModel, encodePartial, firstNonFinite } from './blobs.js';
import { putStatePack } from './client-state/pack.js';
import type { PackedClient } from './client-state/pack.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { keys } from './keys.js';
import { trainClient } from './train-client.js';

export const workerIdentity = `${hostname()}/${process.pid}`;

/**
 * Trains a cohort's clients one after another with θ_g fetched once and the run's model and data
 * resident. A client that fails is recorded as that client's failure (failures are data) and its
 * cohort-mates carry on. With `partialSum` each accepted update is checked as the aggregation
 * would (sample count from the partition, size, finiteness) before it enters the cohort's
 * partial, and only the partial is stored; otherwise every update is stored as a `train` job would.
 */
export async function trainCohort(deps: JobHandlerDeps, p: TrainCohortPayload, ctx: ChildContext): Promise<TrainCohortReply> {
  const rc = await deps.contexts.get(p.runId);
  const globalBytes = await deps.store.get(keys.global(p.runId, p.round));
  const global = decodeModel(globalBytes, rc.model.spec);
  const sumAggregation = rc.hooks.sumAggregation;
  if (p.partialSum && sumAggregation === undefined) {
    throw new Error(`trainCohort: algorithm '${rc.config.algorithm.name}' declares no sum aggregation, so its cohorts cannot write partials`);
  }
  const partial = p.partialSum ? partialSumAccumulator(rc.uploadSpec.size, sumAggregation!) : null;
  const replies: CohortClientReply[] = [];
  // every trained client's state, stored as one pack once the cohort is done
  const states: PackedClient[] = [];
  let uploadBytes = 0;

  for (const client of p.clients) {
    // A cancelled job (deadline, shutdown) stops here; its outcome is the job's, not the clients'.
    ctx.signal?.throwIfAborted();
    const started = performance.now();
    const fail = (code: 'error' | 'bad_input' | 'malformed' | 'shape_mismatch' | 'non_finite', detail: string) =>
      replies.push({ clientId: client.clientId, ok: false, code, detail });
    try {
      const t = await trainClient(deps.store, rc, p.round, global, client);
      states.push(t);
      const done = { clientId: t.clientId, ok: true as const, stateKey: null, stateEntries: {}, numSamples: t.numSamples, loss: t.loss, steps: t.steps, downloadBytes: t.downloadBytes };
      if (!partial) {
        const updateKey = keys.update(p.runId, p.round, t.clientId, ctx.attempt);
        const bytes = encodeModel(rc.uploadSpec, t.upload, { round: p.round, client: t.clientId });
        await deps.store.put(updateKey, bytes);
        replies.push({ ...done, updateKey, uploadBytes: bytes.byteLength, seconds: (performance.now() - started) / 1000 });
        continue;
      }
      // The checks the aggregation runs on a stored update, run here before the sum hides it.
      const expected = rc.partition.clients[t.clientId]?.train.length ?? 0;
      if (t.numSamples !== expected) {
        fail('malformed', `reported ${t.numSamples} samples, the partition gives it ${expected}`);
        continue;
      }
      if (t.upload.length !== rc.uploadSpec.size) {
        fail('shape_mismatch', `update has ${t.upload.length} elements, expected ${rc.uploadSpec.size}`);
        continue;
      }
      const bad = firstNonFinite(t.upload);
      if (bad >= 0) {
        fail('non_finite', `element ${bad} is ${t.upload[bad]}`);
        continue;
      }
      partial.add({ clientId: t.clientId, numSamples: expected, values: t.upload });
      replies.push({ ...done, updateKey: null, uploadBytes: 0, seconds: (performance.now() - started) / 1000 });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      fail(isNonRetryable(err) ? 'bad_input' : 'error', err instanceof Error ? err.message : String(err));
    }
  }

  let partialKey: string | null = null;
  if (partial && partial.result().clients > 0) {
    partialKey = keys.partial(p.runId, p.round, p.cohort, ctx.attempt);
    const bytes = encodePartial(partial.result(), { round: p.round, cohort: p.cohort });
    await deps.store.put(partialKey, bytes);
    uploadBytes += bytes.byteLength;
  }
  const stateKey = keys.cohortState(p.runId, p.round, p.cohort, ctx.attempt);
  const packed = await putStatePack(deps.store, stateKey, states, { round: p.round, cohort: p.cohort });
  const clients = replies.map((r): CohortClientReply => {
    const stateEntries = r.ok ? packed?.sections.get(r.clientId) : undefined;
    return r.ok && stateEntries ? { ...r, stateKey, stateEntries } : r;
  });
  return { clients, partialKey, downloadBytes: globalBytes.byteLength, uploadBytes, backend: deps.backend, worker: workerIdentity };
}

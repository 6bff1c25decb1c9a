import { InvalidJobError } from '../errors/non-retryable.js';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../ports/transport.js';
import { parsePayload } from '../jobs/catalog.js';
import type { Jobs, TrainPayload, TrainReply } from '../jobs/catalog.js';
import { decodeModel, encodeModel } from './blobs.js';
import { trainClient } from './train-client.js';
import { trainCohort, workerIdentity } from './train-cohort.js';
import { putStatePack } from './client-state/pack.js';
import { keys } from './keys.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { aggregateRound } from './aggregate.js';
import { aggregateFedBuff } from '../system/fedbuff-aggregate.js';
import { reduceGroup } from './reduce.js';
import { assertDispatchInstruction, assertRefsInRun } from './reply-trust.js';
import { summarizeEvaluation } from './eval-summary.js';
import { evaluateClient, evaluateCohort } from './eval-cohort.js';

export type { JobHandlerDeps } from './job-handler-deps.js';

type ChildRunners = { readonly [K in ChildKind]: (deps: JobHandlerDeps, p: Jobs[K]['payload'], ctx: ChildContext) => Promise<Jobs[K]['reply']> };
type ParentRunners = {
  readonly [K in ParentKind]: (deps: JobHandlerDeps, p: Jobs[K]['payload'], outcomes: readonly ChildOutcome[]) => Promise<Jobs[K]['reply']>;
};

const childRunners: ChildRunners = { train, trainCohort, eval: evaluateClient, evalCohort: evaluateCohort };
const parentRunners: ParentRunners = {
  reduce: reduceGroup,
  aggregate: (deps, p, outcomes) => (p.fedbuff ? aggregateFedBuff(deps, p, p.fedbuff.arrivals, outcomes) : aggregateRound(deps, p, outcomes)),
  evalSummary: summarizeEvaluation,
};

/**
 * The worker's jobs, independent of transport: the same code serves embedded and BullMQ runs.
 * Payloads are validated against the job catalog before anything runs. An invalid payload, bad
 * data (libs/fl's DataError) or a missing instruction fails the same way on every attempt, so
 * those errors are non-retryable.
 */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlers {
  return {
    // async: an invalid payload rejects the job instead of throwing in the caller's stack
    async runChild<K extends ChildKind>(kind: K, payload: Jobs[K]['payload'], ctx: ChildContext) {
      const run = childRunners[kind] as ChildRunners[K];
      return run(deps, parsePayload(kind, payload), ctx);
    },
    async runParent<K extends ParentKind>(kind: K, payload: Jobs[K]['payload'], outcomes: readonly ChildOutcome[]) {
      const run = parentRunners[kind] as ParentRunners[K];
      return run(deps, parsePayload(kind, payload), outcomes);
    },
  };
}

async function train(deps: JobHandlerDeps, p: TrainPayload, ctx: ChildContext): Promise<TrainReply> {
  const started = performance.now();
  assertRefsInRun('train', p.runId, p.state, p.instructionKey);
  if (p.dispatch && p.dispatch.baseVersion > p.round) {
    throw new InvalidJobError(`train job: dispatch ${p.dispatch.id} starts from model version ${p.dispatch.baseVersion}, after round ${p.round}`);
  }
  if (p.dispatch) assertDispatchInstruction(p.runId, p.dispatch, p.instructionKey);
  const rc = await deps.contexts.get(p.runId);
  // FedBuff: the client trains from the (older) version it downloaded when it was dispatched.
  const globalBytes = await deps.store.get(keys.global(p.runId, p.dispatch?.baseVersion ?? p.round));
  const global = decodeModel(globalBytes, rc.model.spec);
  const trained = await trainClient(deps.store, rc, p.round, global, p, p.dispatch?.id);
  // FedBuff: a client may train twice in a round, so each dispatch writes its own pack
  const stateKey = p.dispatch
    ? keys.dispatchState(p.runId, p.round, p.dispatch.id, ctx.attempt)
    : keys.trainedState(p.runId, p.round, p.clientId, ctx.attempt);
  const packed = await putStatePack(deps.store, stateKey, [trained], { round: p.round, client: p.clientId });
  // A diverged (NaN/Inf) update is still uploaded: retrying is deterministic and would diverge
  // again, and the aggregation rejects it with a recorded reason before it can reach θ_g.
  const updateKey = p.dispatch
    ? keys.dispatchUpdate(p.runId, p.round, p.dispatch.id, ctx.attempt)
    : keys.update(p.runId, p.round, p.clientId, ctx.attempt);
  const updateBytes = encodeModel(rc.uploadSpec, trained.upload, { round: p.round, client: p.clientId });
  await deps.store.put(updateKey, updateBytes);
  return {
    updateKey,
    stateKey: packed ? stateKey : null,
    stateEntries: packed?.sections.get(p.clientId) ?? {},
    numSamples: trained.numSamples,
    loss: trained.loss,
    steps: trained.steps,
    seconds: (performance.now() - started) / 1000,
    uploadBytes: updateBytes.byteLength,
    downloadBytes: globalBytes.byteLength + trained.downloadBytes,
    backend: deps.backend,
    worker: workerIdentity,
  };
}

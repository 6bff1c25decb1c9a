import { hostname } from 'node:os';
import { derivedSeed, withPersonal, personalStateOf } from '@fedsim/fl/algorithms';
import type { ClientState } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { gatherTensors } from '@fedsim/fl';
import { NonRetryableError } from '../errors/non-retryable.js';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../ports/transport.js';
import { parsePayload } from '../jobs/catalog.js';
import type { EvalPayload, EvalReply, Jobs, TrainPayload, TrainReply } from '../jobs/catalog.js';
import { decodeInstruction, decodeModel, encodeModel, encodeState } from './blobs.js';
import { loadState } from './state-index.js';
import { keys } from './keys.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { aggregateRound } from './aggregate.js';
import { summarizeEvaluation } from './eval-summary.js';

export type { JobHandlerDeps } from './job-handler-deps.js';

type ChildRunners = { readonly [K in ChildKind]: (deps: JobHandlerDeps, p: Jobs[K]['payload'], ctx: ChildContext) => Promise<Jobs[K]['reply']> };
type ParentRunners = {
  readonly [K in ParentKind]: (deps: JobHandlerDeps, p: Jobs[K]['payload'], outcomes: readonly ChildOutcome[]) => Promise<Jobs[K]['reply']>;
};

const childRunners: ChildRunners = { train, eval: evaluateClient };
const parentRunners: ParentRunners = { aggregate: aggregateRound, evalSummary: summarizeEvaluation };

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
  const rc = await deps.contexts.get(p.runId);
  const { model, hooks } = rc;
  const spec = model.spec;
  const split = rc.partition.clients[p.clientId];
  if (!split) throw new NonRetryableError(`train job: client ${p.clientId} is not in run ${p.runId} (${rc.partition.numClients} clients)`);

  let downloadBytes = 0;
  const fetch = async (key: string) => {
    const bytes = await deps.store.get(key);
    downloadBytes += bytes.byteLength;
    return bytes;
  };
  const global = decodeModel(await fetch(keys.global(p.runId, p.round)), spec);
  const state = await loadState({ get: fetch }, p.state);
  // The server may prepare nothing for a client (e.g. no patch needed); hooks that need one say so.
  const instruction =
    p.instructionKey && (await deps.store.exists(p.instructionKey))
      ? decodeInstruction(await fetch(p.instructionKey))
      : undefined;
  const trainData = clientData(rc.dataset, split.train);

  const base = { clientId: p.clientId, round: p.round, global, state, instruction };
  const start = hooks.startModel ? hooks.startModel(base) : withPersonal(spec, global, hooks.personal, state);
  const fit = await hooks.fit({
    ...base,
    start,
    train: trainData,
    seed: derivedSeed(rc.config.seed, 'train', p.round, p.clientId),
  });

  const uploadSource = hooks.upload === 'delta' ? difference(start, fit.trained) : fit.trained;
  const upload = gatherTensors(spec, uploadSource, hooks.shared);
  // A diverged (NaN/Inf) update is still uploaded: retrying is deterministic and would diverge
  // again, and the aggregation rejects it with a recorded reason before it can reach θ_g.
  const updateKey = keys.update(p.runId, p.round, p.clientId, ctx.attempt);
  const updateBytes = encodeModel(rc.uploadSpec, upload, { round: p.round, client: p.clientId });
  await deps.store.put(updateKey, updateBytes);

  // Only what this round produced; the aggregation merges it into the client's index entry by entry.
  const nextState: ClientState = { ...personalStateOf(spec, hooks.personal, fit.trained), ...fit.state };
  let stateKey: string | null = null;
  if (Object.keys(nextState).length > 0) {
    stateKey = keys.trainedState(p.runId, p.round, p.clientId, ctx.attempt);
    await deps.store.put(stateKey, encodeState(nextState, { round: p.round, client: p.clientId }));
  }
  return {
    updateKey,
    stateKey,
    stateEntries: Object.keys(nextState),
    numSamples: trainData.n,
    loss: fit.loss,
    steps: fit.steps,
    seconds: (performance.now() - started) / 1000,
    uploadBytes: updateBytes.byteLength,
    downloadBytes,
    backend: deps.backend,
    worker: workerIdentity,
  };
}

const workerIdentity = `${hostname()}/${process.pid}`;

function difference(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

async function evaluateClient(deps: JobHandlerDeps, p: EvalPayload): Promise<EvalReply> {
  const started = performance.now();
  const rc = await deps.contexts.get(p.runId);
  const split = rc.partition.clients[p.clientId];
  if (!split) throw new NonRetryableError(`eval job: client ${p.clientId} is not in run ${p.runId}`);
  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), rc.model.spec);
  const state = await loadState(deps.store, p.state);
  const results = await rc.hooks.evaluate({
    clientId: p.clientId,
    round: p.round,
    global,
    state,
    train: clientData(rc.dataset, split.train),
    test: clientData(rc.dataset, split.test),
    seed: derivedSeed(rc.config.seed, 'finetune', p.round, p.clientId),
  });
  const plain: EvalReply['results'] = {};
  for (const [name, r] of Object.entries(results)) plain[name] = { correct: r.correct, total: r.total, lossSum: r.lossSum };
  return { results: plain, seconds: (performance.now() - started) / 1000, backend: deps.backend };
}

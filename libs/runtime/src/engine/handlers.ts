import { hostname } from 'node:os';
import { derivedSeed, withPersonal, personalStateOf } from '@fedsim/fl/algorithms/index';
import type { ClientState } from '@fedsim/fl/algorithms/index';
import { clientData } from '@fedsim/fl/data/index';
import { gatherTensors } from '@fedsim/fl';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../ports/transport.js';
import type { BlobStore } from '../ports/blob-store.js';
import {
  aggregatePayloadSchema,
  evalPayloadSchema,
  evalSummaryPayloadSchema,
  parseJob,
  trainPayloadSchema,
} from '../jobs/catalog.js';
import type { EvalReply, TrainReply } from '../jobs/catalog.js';
import { decodeInstruction, decodeModel, encodeModel, encodeState } from './blobs.js';
import { loadState } from './prepare.js';
import { keys } from './keys.js';
import type { RunContextCache } from './run-context.js';
import { aggregateRound } from './aggregate.js';
import { summarizeEvaluation } from './eval-summary.js';

export interface JobHandlerDeps {
  readonly store: BlobStore;
  readonly contexts: RunContextCache;
  /** compute backend name, reported with every job for metrics */
  readonly backend: string;
}

/** The worker's jobs, independent of transport: the same code serves embedded and BullMQ runs. */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlers {
  return {
    runChild(kind: ChildKind, payload: unknown, ctx: ChildContext) {
      return kind === 'train' ? train(deps, payload, ctx) : evaluateClient(deps, payload);
    },
    runParent(kind: ParentKind, payload: unknown, outcomes: readonly ChildOutcome[]) {
      return kind === 'aggregate'
        ? aggregateRound(deps, parseJob(aggregatePayloadSchema, payload, 'aggregate job payload'), outcomes)
        : summarizeEvaluation(deps, parseJob(evalSummaryPayloadSchema, payload, 'evalSummary job payload'), outcomes);
    },
  };
}

async function train(deps: JobHandlerDeps, payload: unknown, ctx: ChildContext): Promise<TrainReply> {
  const started = performance.now();
  const p = parseJob(trainPayloadSchema, payload, 'train job payload');
  const rc = await deps.contexts.get(p.runId);
  const { model, hooks } = rc;
  const spec = model.spec;
  const split = rc.partition.clients[p.clientId];
  if (!split) throw new Error(`train job: client ${p.clientId} is not in run ${p.runId} (${rc.partition.numClients} clients)`);

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

async function evaluateClient(deps: JobHandlerDeps, payload: unknown): Promise<EvalReply> {
  const started = performance.now();
  const p = parseJob(evalPayloadSchema, payload, 'eval job payload');
  const rc = await deps.contexts.get(p.runId);
  const split = rc.partition.clients[p.clientId];
  if (!split) throw new Error(`eval job: client ${p.clientId} is not in run ${p.runId}`);
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

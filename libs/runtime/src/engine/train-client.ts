import { derivedSeed, personalStateOf, withPersonal } from '@fedsim/fl/algorithms';
import type { ClientState } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { gatherTensors } from '@fedsim/fl';
import { NonRetryableError } from '../errors/non-retryable.js';
import type { StateRefs } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeInstruction, encodeState } from './blobs.js';
import { keys } from './keys.js';
import type { RunContext } from './run-context.js';
import { loadState } from './state-index.js';

export interface ClientToTrain {
  readonly clientId: number;
  readonly state: StateRefs;
  readonly instructionKey: string | null;
}

/** One client's local training, before its upload is stored or summed. */
export interface TrainedClient {
  readonly clientId: number;
  /** the shared tensors as the algorithm uploads them (trained values or start − trained) */
  readonly upload: Float32Array;
  readonly stateKey: string | null;
  readonly stateEntries: string[];
  readonly numSamples: number;
  readonly loss: number;
  readonly steps: number;
  readonly downloadBytes: number;
}

/**
 * Trains one client from θ_g (already fetched by the caller: once per job, not per client) and
 * writes the state entries it produced. The upload is returned, not stored: a `train` job stores
 * it, a cohort job may sum it into a partial instead.
 */
export async function trainClient(
  store: BlobStore,
  rc: RunContext,
  round: number,
  global: Float32Array,
  client: ClientToTrain,
  attempt: number,
  /** FedBuff: the dispatch trained (one client may train twice in a round; each gets its own seed) */
  dispatch?: number,
): Promise<TrainedClient> {
  const { model, hooks, record } = rc;
  const spec = model.spec;
  const split = rc.partition.clients[client.clientId];
  if (!split) throw new NonRetryableError(`train job: client ${client.clientId} is not in run ${record.runId} (${rc.partition.numClients} clients)`);

  let downloadBytes = 0;
  const fetch = async (key: string) => {
    const bytes = await store.get(key);
    downloadBytes += bytes.byteLength;
    return bytes;
  };
  const state = await loadState({ get: fetch }, client.state);
  // The server may prepare nothing for a client (e.g. no patch needed); hooks that need one say so.
  const instruction =
    client.instructionKey && (await store.exists(client.instructionKey))
      ? decodeInstruction(await fetch(client.instructionKey))
      : undefined;
  const trainData = clientData(rc.dataset, split.train);

  const base = { clientId: client.clientId, round, global, state, instruction };
  const start = hooks.startModel ? hooks.startModel(base) : withPersonal(spec, global, hooks.personal, state);
  const fit = await hooks.fit({
    ...base,
    start,
    train: trainData,
    seed:
      dispatch === undefined
        ? derivedSeed(rc.config.seed, 'train', round, client.clientId)
        : derivedSeed(rc.config.seed, 'fedbuff-train', dispatch, client.clientId),
  });

  const uploadSource = hooks.upload === 'delta' ? difference(start, fit.trained) : fit.trained;
  // Only what this round produced; the aggregation merges it into the client's index entry by entry.
  const nextState: ClientState = { ...personalStateOf(spec, hooks.personal, fit.trained), ...fit.state };
  let stateKey: string | null = null;
  if (Object.keys(nextState).length > 0) {
    stateKey =
      dispatch === undefined
        ? keys.trainedState(record.runId, round, client.clientId, attempt)
        : keys.dispatchState(record.runId, round, dispatch, attempt);
    await store.put(stateKey, encodeState(nextState, { round, client: client.clientId }));
  }
  return {
    clientId: client.clientId,
    upload: gatherTensors(spec, uploadSource, hooks.shared),
    stateKey,
    stateEntries: Object.keys(nextState),
    numSamples: trainData.n,
    loss: fit.loss,
    steps: fit.steps,
    downloadBytes,
  };
}

function difference(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

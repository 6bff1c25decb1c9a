import { derivedSeed, personalStateOf, withPersonal } from '@fedsim/fl/algorithms';
import type { ClientState } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { gatherTensors } from '@fedsim/fl';
import { NonRetryableError } from '../errors/non-retryable.js';
import type { StateRefs } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeInstruction } from './blobs.js';
import { loadState } from './client-state/pack.js';
import type { RunContext } from './run-context.js';

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
  /** the state entries this round produced (stored packed by the caller); empty when none */
  readonly state: ClientState;
  readonly numSamples: number;
  readonly loss: number;
  readonly steps: number;
  readonly downloadBytes: number;
}

/**
 * Trains one client from θ_g (already fetched by the caller: once per job, not per client). The
 * upload and the state it produced are returned, not stored: a `train` job stores them, a cohort
 * job packs its clients' states into one blob and may sum the uploads into a partial.
 */
export async function trainClient(
  store: BlobStore,
  rc: RunContext,
  round: number,
  global: Float32Array,
  client: ClientToTrain,
  /** FedBuff: the dispatch trained (one client may train twice in a round; each gets its own seed) */
  dispatch?: number,
): Promise<TrainedClient> {
  const { model, hooks, record } = rc;
  const spec = model.spec;
  const split = rc.partition.clients[client.clientId];
  if (!split) throw new NonRetryableError(`train job: client ${client.clientId} is not in run ${record.runId} (${rc.partition.numClients} clients)`);

  let downloadBytes = 0;
  const count = (bytes: Uint8Array) => {
    downloadBytes += bytes.byteLength;
    return bytes;
  };
  const fetch = async (key: string) => count(await store.get(key));
  const state = await loadState({ getRange: async (key, offset, length) => count(await store.getRange(key, offset, length)) }, client.state);
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
  return {
    clientId: client.clientId,
    upload: gatherTensors(spec, uploadSource, hooks.shared),
    state: nextState,
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

import { z } from 'zod';
import { sampleClients } from '@fedsim/fl/algorithms';
import type { AlgorithmHooks, EncodedSizes } from '@fedsim/fl/algorithms';
import type { Partition } from '@fedsim/fl/data';
import type { ParamSpec } from '@fedsim/fl';
import { DROP_REASONS } from '@fedsim/fl/system';
import type { SyncRoundPlan } from '@fedsim/fl/system';
import type { ExperimentConfig } from '../config/experiment.js';
import type { BlobStore } from '../ports/blob-store.js';
import { parseJob } from '../jobs/catalog.js';
import { encodeInstruction, encodeModel } from '../engine/blobs.js';
import { decodeJson, encodeJson } from '../engine/json-blobs.js';
import { keys } from '../engine/keys.js';
import { planSystemRounds } from './sync-plan.js';

/** Every round's clients, and with a `system` block the virtual-time plan that chose them. */
export interface RoundSchedule {
  readonly clients: readonly number[][];
  readonly plans: readonly SyncRoundPlan[] | null;
}

const syncRoundPlanSchema = z
  .object({
    round: z.number().int().min(0),
    startSeconds: z.number().min(0),
    endSeconds: z.number().min(0),
    sampled: z.array(z.number().int().min(0)),
    kept: z.array(z.number().int().min(0)).min(1),
    dropped: z.array(z.object({ clientId: z.number().int().min(0), reason: z.enum(DROP_REASONS as [string, ...string[]]) }).strict()),
  })
  .strict();
const planFileSchema = z.array(syncRoundPlanSchema);

/**
 * The run's only sampling. Without `system`, K clients per round from (seed, round). With it,
 * the synchronous plan in virtual time: written once before the run record, so a resumed run
 * (or a trace file edited since) keeps the rounds it started with.
 */
export async function roundSchedule(args: {
  readonly store: BlobStore;
  readonly runId: string;
  readonly config: ExperimentConfig;
  readonly partition: Partition;
  readonly perRound: number;
  readonly modelSpec: ParamSpec;
  readonly uploadSpec: ParamSpec;
  /** the algorithm's own transfer sizes (FedOBP patches, FIARSE/HeteroFL submodels) and local work, when it declares them */
  readonly algorithm: Pick<AlgorithmHooks, 'transferBytes' | 'localWorkSamples'>;
}): Promise<RoundSchedule> {
  const { store, runId, config, partition, perRound } = args;
  const system = config.system;
  if (!system) {
    const clients = Array.from({ length: config.rounds }, (_, r) => sampleClients(config.seed, r, partition.numClients, perRound));
    return { clients, plans: null };
  }
  const key = keys.systemPlan(runId);
  let plans: SyncRoundPlan[];
  if (await store.exists(key)) {
    plans = parseJob(planFileSchema, decodeJson(await store.get(key)), key) as SyncRoundPlan[];
  } else {
    // The real encoded sizes: the global model a client downloads, the shared tensors it uploads.
    const downloadBytes = encodeModel(args.modelSpec, new Float32Array(args.modelSpec.size), { round: 0 }).byteLength;
    const uploadBytes = encodeModel(args.uploadSpec, new Float32Array(args.uploadSpec.size), { round: 0, client: 0 }).byteLength;
    const { algorithm } = args;
    const encoded: EncodedSizes = { model: downloadBytes, update: uploadBytes, instruction: (i) => encodeInstruction(i).byteLength };
    const sizesOf = (c: number) => {
      const t = algorithm.transferBytes?.(c, encoded);
      return t ? { downloadBytes: t.download, uploadBytes: t.upload } : { downloadBytes, uploadBytes };
    };
    const workOf = algorithm.localWorkSamples?.bind(algorithm);
    plans = await planSystemRounds({ ...config, system }, partition, perRound, sizesOf, workOf);
    await store.put(key, encodeJson(plans));
  }
  return { clients: plans.map((p) => [...p.kept]), plans };
}

import { z } from 'zod';
import { sampleClients } from '@fedsim/fl/algorithms';
import type { AlgorithmHooks, EncodedSizes } from '@fedsim/fl/algorithms';
import type { Partition } from '@fedsim/fl/data';
import type { ParamSpec } from '@fedsim/fl';
import { DROP_REASONS } from '@fedsim/fl/system';
import type { FedBuffStep, SyncRoundPlan } from '@fedsim/fl/system';
import type { ExperimentConfig } from '../config/experiment.js';
import type { BlobStore } from '../ports/blob-store.js';
import { parseJob } from '../jobs/catalog.js';
import { encodeInstruction, encodeModel } from '../engine/blobs.js';
import { decodeJson, encodeJson } from '../engine/json-blobs.js';
import { keys } from '../engine/keys.js';
import { planSystemRounds } from './sync-plan.js';
import { duplicateStatefulArrival, isFedBuff, planFedBuffRounds } from './fedbuff-plan.js';
import { ConfigError } from '../errors/run.js';
import type { VirtualRound } from './round-fields.js';
import { fedBuffVirtualRound } from './round-fields.js';

/** Every round's clients, and with a `system` block the virtual-time plan that chose them. */
export interface RoundSchedule {
  /** FedBuff: a round's arriving clients in arrival order (a client may arrive twice) */
  readonly clients: readonly number[][];
  readonly plans: readonly VirtualRound[] | null;
  /** FedBuff runs: round r is step r + 1 of the plan */
  readonly fedbuff: readonly FedBuffStep[] | null;
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
const natural = z.number().int().min(0);
const fedBuffStepSchema = z
  .object({
    version: z.number().int().min(1),
    closesAt: z.number().min(0),
    updates: z.array(
      z.object({ clientId: natural, dispatch: natural, baseVersion: natural, staleness: natural, arrivedAt: z.number().min(0) }).strict(),
    ),
    dropped: z.array(
      z.object({ clientId: natural, dispatch: natural, baseVersion: natural, reason: z.enum(['stale', 'offline']), at: z.number().min(0) }).strict(),
    ),
  })
  .strict();
const planFileSchema = z.union([
  z.array(syncRoundPlanSchema),
  z.object({ kind: z.literal('fedbuff'), steps: z.array(fedBuffStepSchema) }).strict(),
]);

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
  /** the algorithm keeps per-client state (FedBuff refuses a plan where a client arrives twice in a round) */
  readonly statefulClients?: boolean;
}): Promise<RoundSchedule> {
  const { store, runId, config, partition, perRound } = args;
  const system = config.system;
  if (!system) {
    const clients = Array.from({ length: config.rounds }, (_, r) => sampleClients(config.seed, r, partition.numClients, perRound));
    return { clients, plans: null, fedbuff: null };
  }
  const key = keys.systemPlan(runId);
  let stored: SyncRoundPlan[] | { readonly kind: 'fedbuff'; readonly steps: FedBuffStep[] };
  if (await store.exists(key)) {
    stored = parseJob(planFileSchema, decodeJson(await store.get(key)), key) as typeof stored;
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
    const withSystem = { ...config, system };
    if (isFedBuff(withSystem)) {
      const steps = await planFedBuffRounds(withSystem, partition, sizesOf, workOf);
      const twice = args.statefulClients ? duplicateStatefulArrival(steps) : null;
      if (twice) throw new ConfigError(`system.mode fedbuff: algorithm '${config.algorithm.name}': ${twice}`);
      stored = { kind: 'fedbuff', steps };
    } else {
      stored = await planSystemRounds(withSystem, partition, perRound, sizesOf, workOf);
    }
    await store.put(key, encodeJson(stored));
  }
  if (Array.isArray(stored)) return { clients: stored.map((p) => [...p.kept]), plans: stored, fedbuff: null };
  const { steps } = stored;
  return { clients: steps.map((s) => s.updates.map((u) => u.clientId)), plans: steps.map(fedBuffVirtualRound), fedbuff: steps };
}

import type { PartialSum, SumAggregation } from '../aggregation/partial-sum.js';
import type { z } from 'zod';
import type { ClientData } from '../data/types.js';
import type { ModelDef } from '../models/types.js';
import type { TensorSelector } from '../params/spec.js';
import type { EvalResult, LocalTrainOptions, SgdOptions } from '../train/types.js';

/**
 * The plug-in contract between an algorithm and the round engine (design notes: Flower's
 * Strategy with FL-bench's small overrides). The engine owns sampling, transport, storage,
 * retries and metrics; an algorithm is a handful of pure hooks over flat Float32Arrays.
 */

/** Named vectors the server keeps for one client across rounds (in the blob store, not memory). */
export type ClientState = Readonly<Record<string, Float32Array>>;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [k: string]: JsonValue };

/** What the server sends one client for one round besides the global model (e.g. a FedOBP patch). */
export interface Instruction {
  readonly meta: Readonly<Record<string, JsonValue>>;
  readonly arrays: Readonly<Record<string, Float32Array | Uint32Array>>;
}

/** Experiment-wide settings every algorithm sees. */
export interface AlgorithmEnv {
  readonly model: ModelDef;
  readonly numClients: number;
  readonly seed: number;
  /** the experiment's local training settings (docs/specs/protocol.md); `seed` is filled per client and round */
  readonly train: Omit<LocalTrainOptions, 'seed'>;
  /** fine-tuning used by methods that personalise at evaluation (FedAvg-FT, FedBABU) */
  readonly finetune: { readonly epochs: number; readonly sgd: SgdOptions };
}

export interface FitInput {
  readonly clientId: number;
  readonly round: number;
  /** θ_g^t, full layout */
  readonly global: Float32Array;
  /** the model training starts from: θ_g with the client's personal tensors (and patch) merged in */
  readonly start: Float32Array;
  readonly state: ClientState | undefined;
  readonly instruction: Instruction | undefined;
  readonly train: ClientData;
  /** seed for this client's shuffles in this round */
  readonly seed: number;
}

export interface FitResult {
  /** the client's model after local training, full layout; the engine cuts the upload from it */
  readonly trained: Float32Array;
  /** extra per-client state to persist (merged over the engine-managed `personal` entry) */
  readonly state?: ClientState;
  readonly loss: number;
  readonly steps: number;
}

export interface EvalInput {
  readonly clientId: number;
  readonly round: number;
  readonly global: Float32Array;
  readonly state: ClientState | undefined;
  readonly train: ClientData;
  readonly test: ClientData;
  readonly seed: number;
}

/**
 * Named evaluations of one client, e.g. `personalized` (the headline), `global`,
 * `before`/`after` fine-tuning. Every algorithm reports `personalized`.
 */
export type ClientEvaluation = Readonly<Record<string, EvalResult>> & { readonly personalized: EvalResult };

export interface UpdateForAggregation {
  readonly clientId: number;
  readonly numSamples: number;
  /** the upload, laid out as subSpec(model.spec, hooks.shared) */
  readonly values: Float32Array;
}

/** Streams updates (in client-id order) into the next global model. */
export interface Aggregator {
  add(update: UpdateForAggregation): void;
  /** the next global model, full layout */
  finish(): Float32Array;
  /** A cohort's partial sum, in cohort order; present exactly when the hooks declare `sumAggregation`. */
  addPartial?(partial: PartialSum): void;
  /** facts about the finished aggregation for the round's metrics (e.g. clipped updates, DP noise σ) */
  report?(): Readonly<Record<string, JsonValue>>;
}

export interface InstructInput {
  readonly clientId: number;
  /** the round the instruction is for */
  readonly round: number;
  /** θ_g for that round */
  readonly global: Float32Array;
  readonly state: ClientState | undefined;
}

export interface InstructResult {
  readonly instruction?: Instruction;
  /** replaces the client's stored state (e.g. an updated EMA score) */
  readonly state?: ClientState;
  /** small per-client facts for the round's report (e.g. how many elements were personalised) */
  readonly report?: Readonly<Record<string, JsonValue>>;
}

/** The engine's encoded blob sizes, handed to `transferBytes`. */
export interface EncodedSizes {
  /** θ_g as a train job downloads it */
  readonly model: number;
  /** the update as a train job uploads it (the shared tensors) */
  readonly update: number;
  /** an instruction as the engine stores it for a train job */
  instruction(instruction: Instruction): number;
}

export interface AlgorithmHooks {
  /** Tensors kept per client on the server side; never uploaded, never aggregated. */
  readonly personal: TensorSelector;
  /** Tensors uploaded and aggregated. The engine rejects a declaration overlapping `personal`. */
  readonly shared: TensorSelector;
  /** What an upload carries for the shared tensors: the trained values, or start − trained. */
  readonly upload: 'model' | 'delta';
  /** Whether θ_g is a model worth evaluating by itself (reported as `global`). */
  readonly hasGlobalModel: boolean;
  /**
   * The client-state entries a train job downloads (`startModel`/`fit` see only these); the
   * engine adds `personal` when the algorithm has personal tensors. Default: every entry.
   * Entries used only server-side (by `instruct`) stay off the client's download.
   */
  readonly trainState?: readonly string[];
  /**
   * State entries that hold personal parameters besides the engine's `personal` entry (e.g.
   * Ditto's full personal model v_i). Declared so the never-uploaded guarantee can be checked.
   */
  readonly personalState?: readonly string[];
  /** Worker pool that serves a client (e.g. a FIARSE capacity class); default pool when absent. */
  poolOf?(clientId: number): string;
  /**
   * Bytes a real device moves for this client per round, for virtual time (`system`): a
   * submodel's values and positions rather than the dense blob fedsim stores, or the blobs the
   * engine ships plus an instruction. Absent: `encoded.model` down and `encoded.update` up.
   */
  transferBytes?(clientId: number, encoded: EncodedSizes): { readonly download: number; readonly upload: number };
  /**
   * Samples `fit` passes through a model per round for a client with `numTrain` training samples
   * (a second model or phase counts again), for virtual time's compute term. Absent: one local
   * training with the experiment's settings, `localSamples(numTrain, env.train)`.
   */
  localWorkSamples?(numTrain: number): number;
  /** Server side, by the aggregation of the previous round: per-client instruction for a round. */
  instruct?(input: InstructInput): InstructResult;
  /**
   * Declared when `createAggregator` is a weighted sum of the uploads (divided by the total weight
   * at the end, or element-wise by the weight of each element's holders), each weighing its
   * sample count or 1: a worker may then sum a cohort's accepted uploads into one partial, which
   * the aggregator's `addPartial` takes instead of the uploads.
   */
  readonly sumAggregation?: SumAggregation;
  /** Server side: how updates become the next global model. */
  createAggregator(previousGlobal: Float32Array, round: number): Aggregator;
  /** Client side: the start model when the default (θ_g + personal tensors) is not right. */
  startModel?(input: Omit<FitInput, 'start' | 'train' | 'seed'>): Float32Array;
  /** Client side: local training. */
  fit(input: FitInput): Promise<FitResult>;
  /** Client side: evaluation of this client's personalised model(s). */
  evaluate(input: EvalInput): Promise<ClientEvaluation>;
}

export interface Algorithm<Options = unknown> {
  readonly name: string;
  readonly summary: string;
  /** The algorithm's own config fields with the spec's defaults. */
  readonly options: z.ZodType<Options>;
  /**
   * Declared when the aggregator is a per-client weighted mean over full-size updates of the
   * shared tensors (every client uploads every shared element): robust combines, clipping and
   * central DP noise replace exactly that, so a config's `aggregation` block is allowed only then.
   */
  readonly aggregatesByWeightedMean?: true;
  create(env: AlgorithmEnv, options: Options): AlgorithmHooks;
}

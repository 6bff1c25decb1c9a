import type { AlgorithmEnv, AlgorithmHooks } from '@fedsim/fl/algorithms';
import { algorithmByName } from '@fedsim/fl/algorithms';
import { createModel } from '@fedsim/fl/models';
import type { ModelDef } from '@fedsim/fl/models';
import type { Dataset, Partition } from '@fedsim/fl/data';
import { decodePartition } from '@fedsim/fl/data';
import { withRobustAggregation } from '@fedsim/fl/aggregation';
import type { ParamSpec } from '@fedsim/fl';
import { subSpec } from '@fedsim/fl';
import type { ExperimentConfig } from '../config/experiment.js';
import { algorithmOptions } from '../config/experiment.js';
import { loadDataset } from '../data/index.js';
import type { LoadDatasetOptions } from '../data/index.js';
import type { BlobStore } from '../ports/blob-store.js';
import { keys } from './keys.js';
import type { RunRecord } from './run-record.js';
import { parseRunRecord } from './run-record.js';

/** Everything a job needs about its run, loaded once per process/thread and cached. */
export interface RunContext {
  readonly record: RunRecord;
  readonly config: ExperimentConfig;
  readonly model: ModelDef;
  readonly env: AlgorithmEnv;
  readonly hooks: AlgorithmHooks;
  /** layout of an upload: the shared tensors */
  readonly uploadSpec: ParamSpec;
  readonly dataset: Dataset;
  readonly partition: Partition;
}

export function algorithmEnv(config: ExperimentConfig, model: ModelDef, numClients: number): AlgorithmEnv {
  const sgd = { lr: config.train.lr, momentum: config.train.momentum, weightDecay: config.train.weightDecay };
  return {
    model,
    numClients,
    seed: config.seed,
    train: {
      sgd,
      batchSize: config.train.batchSize,
      epochs: config.train.epochs,
      ...(config.train.iterations !== undefined ? { iterations: config.train.iterations } : {}),
      ...(config.train.dropLast !== undefined ? { dropLast: config.train.dropLast } : {}),
    },
    finetune: { epochs: config.finetune.epochs, sgd: { ...sgd, lr: config.finetune.lr ?? config.train.lr } },
  };
}

/** Builds the algorithm's hooks and checks its declaration (personal ∩ shared = ∅). */
export function algorithmFor(config: ExperimentConfig, model: ModelDef, numClients: number) {
  const env = algorithmEnv(config, model, numClients);
  const algorithm = algorithmByName(config.algorithm.name);
  const hooks = withRobustAggregation(
    algorithm.create(env, algorithmOptions(config)),
    { algorithm: algorithm.name, aggregatesByWeightedMean: algorithm.aggregatesByWeightedMean === true, spec: model.spec, seed: config.seed },
    config.aggregation,
  );
  const overlap = model.spec.tensors.filter((t) => hooks.personal(t) && hooks.shared(t)).map((t) => t.name);
  if (overlap.length > 0) {
    throw new Error(
      `algorithm '${config.algorithm.name}' declares tensors both personal and shared: ${overlap.join(', ')}`,
    );
  }
  const uploadSpec = subSpec(model.spec, hooks.shared);
  return { env, hooks, uploadSpec };
}

export function modelFor(config: ExperimentConfig, dataset: Dataset): ModelDef {
  return createModel(config.model, { inputShape: [...dataset.featureShape], numClasses: dataset.numClasses });
}

export class RunContextCache {
  private readonly runs = new Map<string, Promise<RunContext>>();

  constructor(
    private readonly store: BlobStore,
    private readonly data: LoadDatasetOptions = {},
  ) {}

  get(runId: string): Promise<RunContext> {
    let ctx = this.runs.get(runId);
    if (!ctx) {
      ctx = this.load(runId);
      this.runs.set(runId, ctx);
      // A failed load (e.g. the store was briefly unreachable) must not poison later jobs.
      ctx.catch(() => this.runs.delete(runId));
    }
    return ctx;
  }

  private async load(runId: string): Promise<RunContext> {
    const record = parseRunRecord(await this.store.get(keys.run(runId)), keys.run(runId));
    const config = record.config;
    const dataset = await loadDataset(config.data, this.data);
    const partition = decodePartition(await this.store.get(keys.partition(runId))).partition;
    const model = modelFor(config, dataset);
    const { env, hooks, uploadSpec } = algorithmFor(config, model, partition.numClients);
    return { record, config, model, env, hooks, uploadSpec, dataset, partition };
  }
}

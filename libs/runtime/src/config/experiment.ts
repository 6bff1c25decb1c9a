import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import { ConfigError } from '../errors/run.js';
import { algorithmByName, algorithmNames } from '@fedsim/fl/algorithms';
import { modelNameSchema } from '@fedsim/fl/models';
import { isPlainAggregation, robustAggregationSchema } from '@fedsim/fl/aggregation';
import { systemConfigSchema } from '@fedsim/fl/system';
import { datasetConfigSchema, partitionConfigSchema } from '../data/index.js';

const positiveInt = z.number().int().positive();
/** Node's setTimeout takes at most 2^31 − 1 ms; a longer delay silently becomes 1 ms. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export const trainSettingsSchema = z
  .object({
    epochs: positiveInt.default(5),
    /** fixed number of mini-batches instead of epochs (FIARSE's protocol) */
    iterations: positiveInt.optional(),
    batchSize: positiveInt.default(32),
    lr: z.number().positive().default(0.01),
    momentum: z.number().min(0).lt(1).default(0.7),
    weightDecay: z.number().min(0).default(0),
    /**
     * An epoch's last short batch: true skips it (PyTorch's drop_last=True), false keeps it even
     * at one sample; unset keeps fedsim's rule (skip it only when it holds a single sample).
     */
    dropLast: z.boolean().optional(),
  })
  .strict();

export const storageSettingsSchema = z
  .object({
    /**
     * `after-commit`: once a round is committed (and evaluated), delete what no resume or report
     * needs any more: its updates, partials and instructions, and client state, location blocks and
     * global models that later ones replaced. `off`: keep everything (`fedsim gc <run>` still can).
     */
    gc: z.enum(['after-commit', 'off']).default('after-commit'),
    /** newest global models θ_g^t to keep (the one a resume starts from is always among them), or 'all' */
    keepGlobalModels: z.union([z.literal('all'), positiveInt]).default('all'),
  })
  .strict();
export type StorageSettings = z.infer<typeof storageSettingsSchema>;

export const experimentSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/, 'letters, digits, dot, dash and underscore; at most 81 characters'),
    seed: z.number().int().min(0).default(42),
    data: datasetConfigSchema,
    partition: partitionConfigSchema,
    model: modelNameSchema,
    algorithm: z.object({ name: z.enum(algorithmNames as [string, ...string[]]) }).loose(),
    /** robust aggregation, update clipping and central DP noise (weighted-mean algorithms only) */
    aggregation: robustAggregationSchema.optional(),
    /** device speeds, bandwidths and availability in virtual time; unset: every sampled client trains */
    system: systemConfigSchema.optional(),
    rounds: positiveInt,
    joinRatio: z.number().gt(0).max(1).default(0.1),
    /**
     * Clients per train (and evaluation) job, run one after another with model and data resident: a
     * number, or 'auto' (absent): about 64 jobs per round of at most 256 clients, at least 16 clients
     * per job while that leaves 8 jobs (engine/cohorts.ts). 1 = one job per client.
     */
    cohortSize: z.union([z.literal('auto'), positiveInt]).optional(),
    /**
     * Most partials one aggregation job reads: with more cohort partials than this, `reduce` jobs
     * first sum groups of this many (a tree). 'auto' (absent): 64.
     */
    reduceFanIn: z.union([z.literal('auto'), z.number().int().min(2)]).optional(),
    /** what the run's store keeps (docs/scale.md, "Garbage collection"); absent: the defaults below */
    storage: storageSettingsSchema.optional(),
    train: trainSettingsSchema.default(trainSettingsSchema.parse({})),
    finetune: z
      .object({ epochs: z.number().int().min(0).default(5), lr: z.number().positive().optional() })
      .strict()
      .default({ epochs: 5 }),
    eval: z
      .object({
        /** evaluate all clients after every `every` rounds, and always after the last round */
        every: positiveInt.default(100),
        batchSize: positiveInt.default(256),
      })
      .strict()
      .default({ every: 100, batchSize: 256 }),
    failures: z
      .object({
        /** tries per client job (1 = no retry) */
        attempts: positiveInt.default(3),
        /** tries for the aggregation job */
        aggregateAttempts: positiveInt.default(3),
        /** a round aggregates if at least this fraction of its clients succeeded, else the run stops */
        minSuccessFraction: z.number().min(0).max(1).default(0.5),
        roundDeadlineSeconds: z
          .number()
          .positive()
          .max(MAX_TIMER_SECONDS, `must be at most ${MAX_TIMER_SECONDS} s (about 24.8 days): Node's timers cannot wait longer`)
          .default(3600),
      })
      .strict()
      .default({ attempts: 3, aggregateAttempts: 3, minSuccessFraction: 0.5, roundDeadlineSeconds: 3600 }),
  })
  .strict();

export type ExperimentConfig = z.infer<typeof experimentSchema>;
export type TrainSettings = z.infer<typeof trainSettingsSchema>;

export { ConfigError } from '../errors/run.js';

function describeIssues(where: string, error: z.ZodError, prefix: readonly string[] = []): string {
  return `invalid ${where}:\n${formatIssues(error, { prefix, style: 'list' })}`;
}

/**
 * Validates a parsed config file: the experiment fields, then the chosen algorithm's own options
 * (which live beside `algorithm.name`). Errors name every bad field and what is allowed.
 */
export function parseExperiment(raw: unknown, where = 'experiment config'): ExperimentConfig {
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(where, parsed.error));
  const cfg = parsed.data;
  const { name, ...options } = cfg.algorithm;
  const algo = algorithmByName(name);
  const opts = algo.options.safeParse(options);
  if (!opts.success) {
    throw new ConfigError(describeIssues(`${where} (options of algorithm '${name}')`, opts.error, ['algorithm']));
  }
  if (cfg.partition.numClients < 1) throw new ConfigError(`invalid ${where}: partition.numClients must be ≥ 1`);
  if (!isPlainAggregation(cfg.aggregation) && algo.aggregatesByWeightedMean !== true) {
    const allowed = algorithmNames.filter((n) => algorithmByName(n).aggregatesByWeightedMean === true);
    throw new ConfigError(`invalid ${where}:\n  - aggregation: robust aggregation, clipping and DP noise replace a weighted mean `
      + `of client models; algorithm '${name}' aggregates differently (allowed with: ${allowed.join(', ')})`);
  }
  return { ...cfg, algorithm: { name, ...(opts.data as Record<string, unknown>) } };
}

/** The algorithm's validated options of a parsed experiment. */
export function algorithmOptions(cfg: ExperimentConfig): unknown {
  const { name, ...options } = cfg.algorithm;
  return algorithmByName(name).options.parse(options);
}

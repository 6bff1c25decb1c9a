import { z } from 'zod';

const dir = z
  .string()
  .min(1)
  .optional()
  .describe('folder holding the IDX files; default: $FEDSIM_DATA_DIR/<name>, else /usr/share/datasets/<name>');


const idxFilesSchema = z
  .object({
    trainImages: z.string().min(1),
    trainLabels: z.string().min(1),
    testImages: z.string().min(1).optional(),
    testLabels: z.string().min(1).optional(),
  })
  .strict()
  .refine((f) => (f.testImages === undefined) === (f.testLabels === undefined), {
    message: 'give testImages and testLabels together, or neither',
  });

/** 1 GiB of float32 features: beyond this a synthetic set fails allocation far from its config. */
const MAX_SYNTHETIC_VALUES = 2 ** 28;

export const normalizationSchema = z.union([
  z.literal('auto'),
  z.object({ mean: z.number(), std: z.number().positive() }).strict(),
]);

/** Another framework's convention (PFLlib's FMNIST: mean 0.5, std 0.5); unset keeps the published values. */
const namedNormalization = normalizationSchema
  .optional()
  .describe('(p/255 − mean) / std; default: the published values (fashion-mnist 0.286/0.3205, mnist 0.1307/0.3081)');
const fashionMnistSchema = z.object({ kind: z.literal('fashion-mnist'), dir, normalization: namedNormalization }).strict();
const mnistSchema = z.object({ kind: z.literal('mnist'), dir, normalization: namedNormalization }).strict();

const idxSchema = z
  .object({
    kind: z.literal('idx'),
    /** shown in logs and errors */
    name: z.string().min(1).default('idx'),
    dir,
    /** paths (relative ones resolve against `dir`); default: the standard MNIST file names in `dir` */
    files: idxFilesSchema.optional(),
    /** 'auto' computes mean/std of p/255 over the pooled pixels */
    normalization: normalizationSchema.default('auto'),
    /** default: largest label + 1 */
    numClasses: z.number().int().min(2).max(256).optional(),
  })
  .strict()
  .refine((c) => c.dir !== undefined || c.files !== undefined, {
    message: "an 'idx' data set needs data.dir (with standard MNIST file names) or data.files",
    path: ['dir'],
  });

const syntheticSchema = z
  .object({
    kind: z.literal('synthetic'),
    numSamples: z.number().int().positive().default(10_000),
    numClasses: z.number().int().min(2).max(256).default(10),
    /** [d] for vectors or e.g. [28, 28, 1] for image-like samples */
    featureShape: z.array(z.number().int().positive()).min(1).default([32]),
    /** expected distance between class means, in noise stds */
    separation: z.number().min(0).default(4),
    /** fixed here, not taken from the experiment seed, so coordinator and workers always agree */
    seed: z.number().int().default(42),
  })
  .strict()
  .superRefine((c, ctx) => {
    const values = c.numSamples * c.featureShape.reduce((a, b) => a * b, 1);
    if (values > MAX_SYNTHETIC_VALUES) {
      ctx.addIssue({
        code: 'custom',
        path: ['numSamples'],
        message: `numSamples × featureShape = ${values.toExponential(2)} values (${(values * 4 / 2 ** 30).toFixed(1)} GiB as float32) `
          + `is more than a synthetic data set may hold (${MAX_SYNTHETIC_VALUES.toExponential(2)} values, 1 GiB); lower numSamples or featureShape`,
      });
    }
  });

export const datasetConfigSchema = z.discriminatedUnion('kind', [fashionMnistSchema, mnistSchema, idxSchema, syntheticSchema]);
export type DatasetConfig = z.infer<typeof datasetConfigSchema>;
export type DatasetConfigInput = z.input<typeof datasetConfigSchema>;

/**
 * Where a client's test samples come from: 'per-client' (default) holds out `testRatio` of each
 * client's samples drawn from the pooled data set; 'dataset' keeps the data set's own train/test
 * files apart: clients train on the train files and test on the test files.
 */
const testSplit = z.enum(['per-client', 'dataset']).optional();

const common = {
  numClients: z.number().int().positive().max(10_000_000, 'must be at most 10,000,000').default(100),
  /** ignored with testSplit 'dataset' */
  testRatio: z.number().min(0).lt(1).default(0.25),
  /** default: the experiment seed */
  seed: z.number().int().optional(),
  testSplit,
};

/** A split written by another framework (or exported from a fedsim run); see docs/reproduce.md. */
const fileCommon = {
  /** JSON file; a relative path resolves against the working directory */
  file: z.string().min(1),
  /** must equal the number of clients in the file */
  numClients: z.number().int().positive(),
  testSplit,
};

const dirichletSchema = z
  .object({
    kind: z.literal('dirichlet'),
    ...common,
    alpha: z.number().positive().default(0.1),
    minSamples: z.number().int().min(0).default(10),
    maxDraws: z.number().int().positive().default(1000),
    /** FL-bench's variant: clients already at the mean size get no more of later labels */
    capAtMean: z.boolean().default(false),
  })
  .strict();

const shardsSchema = z
  .object({ kind: z.literal('shards'), ...common, shardsPerClient: z.number().int().positive().default(2) })
  .strict();

const iidSchema = z.object({ kind: z.literal('iid'), ...common }).strict();

const balancedDirichletSchema = z
  .object({ kind: z.literal('balanced-dirichlet'), ...common, alpha: z.number().positive().default(0.1) })
  .strict();

/** Every client's train and test sample indices over the pooled data set, used as they are. */
const indicesSchema = z.object({ kind: z.literal('indices'), ...fileCommon }).strict();

/** Per client and class, how many samples; fedsim draws samples to match, seeded. */
const labelCountsSchema = z
  .object({
    kind: z.literal('label-counts'),
    ...fileCommon,
    /** default: the experiment seed */
    seed: z.number().int().optional(),
    /** files that give each client's total (PFLlib's layout): the share it trains on; default 0.75 */
    trainRatio: z.number().gt(0).max(1).optional(),
  })
  .strict();

export const partitionConfigSchema = z.discriminatedUnion('kind', [
  dirichletSchema,
  shardsSchema,
  iidSchema,
  balancedDirichletSchema,
  indicesSchema,
  labelCountsSchema,
]);
export type PartitionConfig = z.infer<typeof partitionConfigSchema>;
export type PartitionConfigInput = z.input<typeof partitionConfigSchema>;

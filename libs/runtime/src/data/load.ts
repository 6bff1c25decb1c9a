import type { Dataset, Partition } from '@fedsim/fl/data';
import { makePartition, syntheticDataset } from '@fedsim/fl/data';
import type { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import type { DatasetConfigInput, PartitionConfigInput } from './config.js';
import { datasetConfigSchema, partitionConfigSchema } from './config.js';
import { loadImageDataset } from './load-image.js';

export interface LoadDatasetOptions {
  /** overrides `dir` of an image data set (a worker's local data folder, e.g. from --data-dir) */
  readonly dataDir?: string;
  /** the folder holding one folder per data set (FEDSIM_DATA_DIR); default /usr/share/datasets */
  readonly dataRoot?: string;
}

/** Parses with a schema; a failure names every bad field under `where` (e.g. `data.numSamples`). */
function parseConfig<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new Error(`invalid ${where} config:\n${formatIssues(r.error, { prefix: [where], style: 'list' })}`);
}

const syntheticCache = new Map<string, Dataset>();

/** The data set a config names: read from disk (cached per process) or generated from its seed. */
export async function loadDataset(config: DatasetConfigInput, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const c = parseConfig(datasetConfigSchema, config, 'data');
  const env = opts.dataRoot !== undefined ? { dataRoot: opts.dataRoot } : {};
  switch (c.kind) {
    case 'fashion-mnist':
    case 'mnist': {
      const dir = opts.dataDir ?? c.dir;
      return loadImageDataset({ name: c.kind, ...(dir !== undefined ? { dir } : {}), ...env });
    }
    case 'idx': {
      const dir = opts.dataDir ?? c.dir;
      return loadImageDataset({
        name: 'idx',
        label: c.name,
        ...(dir !== undefined ? { dir } : {}),
        ...(c.files ? { files: c.files } : {}),
        normalization: c.normalization,
        ...(c.numClasses !== undefined ? { numClasses: c.numClasses } : {}),
        ...env,
      });
    }
    case 'synthetic': {
      const key = JSON.stringify(c);
      let ds = syntheticCache.get(key);
      if (!ds) {
        ds = syntheticDataset({
          seed: c.seed,
          numSamples: c.numSamples,
          numClasses: c.numClasses,
          featureShape: c.featureShape,
          separation: c.separation,
          name: `synthetic-${c.numClasses}c-${c.featureShape.join('x')}`,
        });
        syntheticCache.set(key, ds);
      }
      return ds;
    }
  }
}

/** Splits a data set over clients as the config says; `defaultSeed` applies when the config has none. */
export function partitionFor(dataset: Dataset, config: PartitionConfigInput, defaultSeed = 42): Partition {
  const c = parseConfig(partitionConfigSchema, config, 'partition');
  const seed = c.seed ?? defaultSeed;
  const base = { numClients: c.numClients, testRatio: c.testRatio, seed };
  switch (c.kind) {
    case 'dirichlet':
      return makePartition(dataset.labels, dataset.numClasses, {
        kind: 'dirichlet',
        ...base,
        alpha: c.alpha,
        minSamples: c.minSamples,
        maxDraws: c.maxDraws,
        capAtMean: c.capAtMean,
      });
    case 'shards':
      return makePartition(dataset.labels, dataset.numClasses, { kind: 'shards', ...base, shardsPerClient: c.shardsPerClient });
    case 'iid':
      return makePartition(dataset.labels, dataset.numClasses, { kind: 'iid', ...base });
    case 'balanced-dirichlet':
      return makePartition(dataset.labels, dataset.numClasses, { kind: 'balanced-dirichlet', ...base, alpha: c.alpha });
  }
}

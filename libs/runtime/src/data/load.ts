import { resolve } from 'node:path';
import type { Dataset, Partition } from '@fedsim/fl/data';
import type { PartitionSpec } from '@fedsim/fl/data';
import {
  PartitionError,
  indicesPartition,
  labelCountsPartition,
  makePartition,
  syntheticDataset,
  withDatasetTestSplit,
} from '@fedsim/fl/data';
import type { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import type { DatasetConfigInput, PartitionConfig, PartitionConfigInput } from './config.js';
import { datasetConfigSchema, partitionConfigSchema } from './config.js';
import { loadImageDataset } from './load-image.js';
import { parseIndicesFile, parseLabelCountsFile, readPartitionFile } from './partition-files.js';

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
      return loadImageDataset({
        name: c.kind,
        ...(dir !== undefined ? { dir } : {}),
        ...(c.normalization !== undefined ? { normalization: c.normalization } : {}),
        ...env,
      });
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

/**
 * Splits a data set over clients as the config says; `defaultSeed` applies when the config has
 * none. A split file is read here (once, at run start, by the coordinator; workers read the stored
 * manifest), synchronously so the engine's call stays as it is.
 */
export function partitionFor(dataset: Dataset, config: PartitionConfigInput, defaultSeed = 42): Partition {
  const c = parseConfig(partitionConfigSchema, config, 'partition');
  const datasetTrainSamples = c.testSplit === 'dataset' ? trainFilesOf(dataset) : undefined;
  if (c.kind === 'indices' || c.kind === 'label-counts') {
    return checkedClientCount(fromFile(dataset, c, defaultSeed, datasetTrainSamples), c.numClients, c.file);
  }
  const seed = c.seed ?? defaultSeed;
  const spec = withoutFileFields(c, seed);
  if (datasetTrainSamples === undefined) return makePartition(dataset.labels, dataset.numClasses, spec);
  return withDatasetTestSplit(dataset.labels, dataset.numClasses, datasetTrainSamples, seed, (trainLabels) =>
    makePartition(trainLabels, dataset.numClasses, { ...spec, testRatio: 0 }),
  );
}

type DrawnPartitionConfig = Exclude<PartitionConfig, { kind: 'indices' | 'label-counts' }>;

/** The partitioner's own options: the config less the fields only the loader uses. */
function withoutFileFields(c: DrawnPartitionConfig, seed: number): PartitionSpec {
  const { testSplit: _testSplit, ...spec } = c;
  return { ...spec, seed };
}

function trainFilesOf(dataset: Dataset): number {
  if (dataset.trainSamples === undefined) {
    throw new PartitionError(
      `partition.testSplit is 'dataset', but data set '${dataset.name}' has no separate test files; use testSplit 'per-client'`,
    );
  }
  return dataset.trainSamples;
}

function fromFile(
  dataset: Dataset,
  c: Extract<PartitionConfig, { kind: 'indices' | 'label-counts' }>,
  defaultSeed: number,
  datasetTrainSamples: number | undefined,
): Partition {
  const path = resolve(c.file);
  const json = readPartitionFile(path);
  const split = datasetTrainSamples !== undefined ? { datasetTrainSamples } : {};
  try {
    if (c.kind === 'indices') {
      return indicesPartition(dataset.numSamples, { ...parseIndicesFile(json, path, dataset.numSamples), ...split });
    }
    return labelCountsPartition(dataset.labels, dataset.numClasses, {
      clients: parseLabelCountsFile(json, path, dataset.numClasses),
      seed: c.seed ?? defaultSeed,
      ...(c.trainRatio !== undefined ? { trainRatio: c.trainRatio } : {}),
      ...split,
    });
  } catch (err) {
    // The partitioner's message names the client and index; add which file they are in.
    if (err instanceof PartitionError && !err.message.includes(path)) throw new PartitionError(`partition file ${path}: ${err.message}`);
    throw err;
  }
}

function checkedClientCount(partition: Partition, numClients: number, file: string): Partition {
  if (partition.numClients !== numClients) {
    throw new PartitionError(
      `partition file ${file} lists ${partition.numClients} clients but partition.numClients is ${numClients}; set numClients: ${partition.numClients}`,
    );
  }
  return partition;
}

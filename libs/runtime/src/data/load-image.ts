import { access } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Dataset, ImageDatasetInit, ImageNormalization } from '@fedsim/fl/data';
import {
  FASHION_MNIST_NORMALIZATION, MNIST_NORMALIZATION, idxImagesShape, idxLabelsCount, imageDataset, pooledIdxShape, pooledImageDatasetInit,
} from '@fedsim/fl/data';
import { DatasetNotFoundError } from '../errors/run.js';
import { readIdxFileBody, readIdxFileHeader } from './idx-file.js';
import { requestSharedDataset, serveSharedDatasets, sharedBytes } from './shared-datasets.js';

export type ImageDatasetName = 'fashion-mnist' | 'mnist' | 'idx';

export interface IdxFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages?: string;
  readonly testLabels?: string;
}

export interface ImageDatasetOptions {
  readonly name: ImageDatasetName;
  /** folder of the IDX files; for fashion-mnist/mnist default <dataRoot>/<name> */
  readonly dir?: string;
  /** explicit paths (relative ones resolve against `dir`); default: the standard MNIST file names */
  readonly files?: IdxFiles;
  /** default: the published values for fashion-mnist/mnist, computed from the data for idx */
  readonly normalization?: ImageNormalization | 'auto';
  readonly numClasses?: number;
  /** data set name in logs and errors (idx only; default 'idx') */
  readonly label?: string;
  /** the folder holding one folder per data set (apps pass FEDSIM_DATA_DIR); default /usr/share/datasets */
  readonly dataRoot?: string;
}

export { DatasetNotFoundError };

export const SYSTEM_DATASETS_DIR = '/usr/share/datasets';

const STANDARD_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** gz first (Debian ships gzip'd), then raw, then the dotted names some mirrors use. */
function candidatesFor(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

function defaultDir(name: 'fashion-mnist' | 'mnist', root: string | undefined): string {
  return join(root && root.length > 0 ? root : SYSTEM_DATASETS_DIR, name);
}

function howToFix(name: ImageDatasetName): string {
  switch (name) {
    case 'fashion-mnist':
      return (
        'Install it with `sudo apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist), ' +
        'or set `data.dir` in the experiment config (or FEDSIM_DATA_DIR, a folder holding fashion-mnist/) to a folder with the four IDX files.'
      );
    case 'mnist':
      return 'Put the four MNIST IDX files (train-images-idx3-ubyte[.gz], ...) in that folder, or set `data.dir` in the experiment config (or FEDSIM_DATA_DIR, a folder holding mnist/) to where they are.';
    case 'idx':
      return 'Check `data.dir` / `data.files` in the experiment config.';
  }
}

interface ResolvedFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages?: string;
  readonly testLabels?: string;
}

async function resolveFiles(opts: ImageDatasetOptions, label: string): Promise<ResolvedFiles> {
  const dir = opts.dir ?? (opts.name === 'idx' ? undefined : defaultDir(opts.name, opts.dataRoot));

  if (opts.files) {
    const at = (p: string): string => (isAbsolute(p) || dir === undefined ? resolve(p) : resolve(dir, p));
    const out: Record<string, string> = {};
    for (const [role, p] of Object.entries(opts.files) as [keyof IdxFiles, string | undefined][]) {
      if (p === undefined) continue;
      const path = at(p);
      if (!(await exists(path))) {
        throw new DatasetNotFoundError(path, `${label}: ${role} file ${path} does not exist. ${howToFix(opts.name)}`);
      }
      out[role] = path;
    }
    return out as unknown as ResolvedFiles;
  }

  if (dir === undefined) {
    throw new DatasetNotFoundError('', `${label}: no folder given; set data.dir (standard MNIST file names) or data.files`);
  }
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [role, base] of Object.entries(STANDARD_FILES)) {
    const tries = candidatesFor(base).map((f) => resolve(dir, f));
    let hit: string | undefined;
    for (const t of tries) {
      if (await exists(t)) {
        hit = t;
        break;
      }
    }
    if (hit) found[role] = hit;
    else missing.push(tries[0]!);
  }
  // A user's own IDX set may have no t10k pair; the named data sets must be complete.
  const optionalTest = opts.name === 'idx' && !found.testImages && !found.testLabels;
  const reallyMissing = optionalTest ? missing.filter((p) => !p.includes('/t10k-')) : missing;
  if (reallyMissing.length > 0) {
    const first = reallyMissing[0]!;
    const more = reallyMissing.length > 1 ? ` (and ${reallyMissing.length - 1} more of the four files)` : '';
    throw new DatasetNotFoundError(
      first,
      `${label}: missing ${first}${more}; also looked for the uncompressed and dotted (train-images.idx3-ubyte) names. ${howToFix(opts.name)}`,
    );
  }
  return found as unknown as ResolvedFiles;
}

function defaultNormalization(name: ImageDatasetName): ImageNormalization | 'auto' {
  if (name === 'fashion-mnist') return FASHION_MNIST_NORMALIZATION;
  if (name === 'mnist') return MNIST_NORMALIZATION;
  return 'auto';
}

const cache = new Map<string, Promise<{ init: ImageDatasetInit; dataset: Dataset }>>();

function rebuildError(e: { name: string; message: string; path?: string }): Error {
  if (e.name === 'DatasetNotFoundError' && e.path !== undefined) return new DatasetNotFoundError(e.path, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * Loads an MNIST-format data set (train pair, then the t10k pair if any, pooled in that order as
 * docs/specs/protocol.md says). Each distinct set of files and settings is held once per process: the main
 * thread reads it into shared memory and worker threads get views of it (shared-datasets.ts).
 */
export async function loadImageDataset(opts: ImageDatasetOptions): Promise<Dataset> {
  return (await loadShared(opts)).dataset;
}

async function loadShared(opts: ImageDatasetOptions): Promise<{ init: ImageDatasetInit; dataset: Dataset }> {
  const label = opts.name === 'idx' ? (opts.label ?? 'idx') : opts.name;
  const files = await resolveFiles(opts, label);
  const normalization = opts.normalization ?? defaultNormalization(opts.name);
  const key = JSON.stringify({ label, files, normalization, numClasses: opts.numClasses ?? null });
  let loading = cache.get(key);
  if (!loading) {
    loading = (async () => {
      const init =
        (await requestSharedDataset(opts, rebuildError)) ??
        (await readImageDataset(label, files, normalization, opts.numClasses, isMainThread));
      return { init, dataset: imageDataset(init) };
    })();
    cache.set(key, loading);
    // A failed read must not stick: the next call tries again.
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

serveSharedDatasets(async (opts) => (await loadShared(opts as ImageDatasetOptions)).init);

async function readImageDataset(
  label: string,
  files: ResolvedFiles,
  normalization: ImageNormalization | 'auto',
  numClasses: number | undefined,
  shared: boolean,
): Promise<ImageDatasetInit> {
  const pairPaths: [string, string][] = [[files.trainImages, files.trainLabels]];
  if (files.testImages && files.testLabels) pairPaths.push([files.testImages, files.testLabels]);
  const pairs = await Promise.all(
    pairPaths.map(async ([imagesPath, labelsPath]) => {
      const [images, labels] = await Promise.all([readIdxFileHeader(imagesPath), readIdxFileHeader(labelsPath)]);
      return { imagesPath, labelsPath, images, labels };
    }),
  );
  // Sized from the headers alone; whether the pairs belong together is checked once all bytes
  // are read, as before (a corrupt file is reported ahead of a mismatched pair).
  const allocate = shared ? sharedBytes : (n: number) => new Uint8Array(n);
  const pixels = allocate(pairs.reduce((a, p) => a + p.images.size, 0));
  const labels = allocate(pairs.reduce((a, p) => a + p.labels.size, 0));
  let pixelsAt = 0;
  let labelsAt = 0;
  for (const p of pairs) {
    await Promise.all([
      readIdxFileBody(p.imagesPath, p.images, pixels.subarray(pixelsAt, pixelsAt + p.images.size)),
      readIdxFileBody(p.labelsPath, p.labels, labels.subarray(labelsAt, labelsAt + p.labels.size)),
    ]);
    pixelsAt += p.images.size;
    labelsAt += p.labels.size;
  }
  const shape = pooledIdxShape(
    label,
    pairs.map((p) => ({
      images: idxImagesShape(p.images.dims, p.imagesPath),
      labels: idxLabelsCount(p.labels.dims, p.labelsPath),
      imagesSource: p.imagesPath,
      labelsSource: p.labelsPath,
    })),
  );
  return pooledImageDatasetInit({ name: label, normalization, ...(numClasses !== undefined ? { numClasses } : {}) }, shape, pixels, labels);
}

/** Forgets every loaded data set (tests; long-lived processes switching data sets). */
export function clearDatasetCache(): void {
  cache.clear();
}

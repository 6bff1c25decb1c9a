import { checkSampleIndex, DataError } from './errors.js';
import { parseIdxImages, parseIdxLabels } from './idx.js';
import type { Dataset } from './types.js';

/** Applied to p/255: (p/255 − mean) / std. */
export interface ImageNormalization {
  readonly mean: number;
  readonly std: number;
}

/** docs/specs/protocol.md's values for Fashion-MNIST. */
export const FASHION_MNIST_NORMALIZATION: ImageNormalization = { mean: 0.286, std: 0.3205 };
export const MNIST_NORMALIZATION: ImageNormalization = { mean: 0.1307, std: 0.3081 };

export interface ImageDatasetInit {
  readonly name: string;
  /** numSamples × prod(featureShape) bytes, kept as they are (4× smaller than float32) */
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  /** e.g. [28, 28, 1] */
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  readonly normalization: ImageNormalization;
  /** how many of the first samples come from the train files (see Dataset.trainSamples) */
  readonly trainSamples?: number;
}

export function imageDataset(init: ImageDatasetInit): Dataset {
  const { name, pixels, labels, numClasses, normalization } = init;
  const featureShape = [...init.featureShape];
  const featureSize = featureShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(featureSize) || featureSize <= 0) {
    throw new DataError(`${name}: feature shape [${featureShape.join(', ')}] is empty or invalid`);
  }
  const numSamples = labels.length;
  if (pixels.length !== numSamples * featureSize) {
    throw new DataError(`${name}: ${numSamples} labels need ${numSamples * featureSize} pixels of [${featureShape.join(', ')}], got ${pixels.length}`);
  }
  assertLabels(name, labels, numClasses);
  if (!(normalization.std > 0) || !Number.isFinite(normalization.mean)) {
    throw new DataError(`${name}: normalization needs a finite mean and std > 0, got mean ${normalization.mean} std ${normalization.std}`);
  }
  // 256 possible inputs: a lookup table makes gather a copy loop.
  const lut = new Float32Array(256);
  for (let p = 0; p < 256; p++) lut[p] = (p / 255 - normalization.mean) / normalization.std;

  if (init.trainSamples !== undefined && !(Number.isInteger(init.trainSamples) && init.trainSamples >= 0 && init.trainSamples <= numSamples)) {
    throw new DataError(`${name}: trainSamples must be an integer in 0..${numSamples}, got ${init.trainSamples}`);
  }
  return {
    name,
    numSamples,
    featureShape,
    numClasses,
    labels,
    ...(init.trainSamples !== undefined ? { trainSamples: init.trainSamples } : {}),
    gather(indices: ArrayLike<number>): Float32Array {
      const out = new Float32Array(indices.length * featureSize);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        checkSampleIndex(name, i, numSamples);
        const src = i * featureSize;
        const dst = k * featureSize;
        for (let j = 0; j < featureSize; j++) out[dst + j] = lut[pixels[src + j]!]!;
      }
      return out;
    },
  };
}

export function assertLabels(name: string, labels: Uint8Array, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new DataError(`${name}: numClasses must be an integer in 1..256, got ${numClasses}`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) {
      throw new DataError(`${name}: sample ${i} has label ${labels[i]}, but numClasses is ${numClasses}`);
    }
  }
}

/** One images+labels file pair, as bytes (raw or gzip'd IDX). `source` names them in errors. */
export interface IdxPair {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly imagesSource?: string;
  readonly labelsSource?: string;
}

export interface IdxDatasetOptions {
  readonly name: string;
  /** pooled in this order (docs/specs/protocol.md: train first, then t10k) */
  readonly pairs: readonly IdxPair[];
  /** default: computed from the pooled pixels */
  readonly normalization?: ImageNormalization | 'auto';
  /** default: max label + 1 */
  readonly numClasses?: number;
  /**
   * Allocates the pooled pixel and label arrays (default: plain Uint8Arrays); a loader passes
   * SharedArrayBuffer-backed ones to share a data set between threads. Given, the result never
   * aliases the input bytes.
   */
  readonly allocate?: (length: number) => Uint8Array;
}

/** Mean and std of p/255 over all pixels (for user data sets without published values). */
export function computeNormalization(pixels: Uint8Array): ImageNormalization {
  const hist = new Float64Array(256);
  for (let i = 0; i < pixels.length; i++) hist[pixels[i]!]!++;
  let sum = 0;
  let sumSq = 0;
  for (let p = 0; p < 256; p++) {
    const v = p / 255;
    sum += hist[p]! * v;
    sumSq += hist[p]! * v * v;
  }
  const n = Math.max(1, pixels.length);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  // A constant image set would divide by zero; std 1 leaves it merely centred.
  return { mean, std: std > 0 ? std : 1 };
}

/** Parses and pools IDX pairs into one compact image data set. */
export function imageDatasetFromIdx(opts: IdxDatasetOptions): Dataset {
  return imageDataset(imageDatasetInitFromIdx(opts));
}

/** One parsed pair's shape: what pooling checks before the pixels and labels are put together. */
export interface IdxPairShape {
  readonly images: { readonly count: number; readonly rows: number; readonly cols: number };
  readonly labels: number;
  readonly imagesSource: string;
  readonly labelsSource: string;
}

/** Checks that the pairs belong together and pool into one set; returns the pooled feature shape. */
export function pooledIdxShape(name: string, pairs: readonly IdxPairShape[]): { featureShape: number[]; trainSamples?: number } {
  if (pairs.length === 0) throw new DataError(`${name}: no IDX files given`);
  for (const p of pairs) {
    if (p.images.count !== p.labels) {
      throw new DataError(`${p.imagesSource} has ${p.images.count} images but ${p.labelsSource} has ${p.labels} labels; the files do not belong together`);
    }
  }
  const first = pairs[0]!;
  for (const p of pairs) {
    if (p.images.rows !== first.images.rows || p.images.cols !== first.images.cols) {
      throw new DataError(`${p.imagesSource} holds ${p.images.rows}×${p.images.cols} images, ${first.imagesSource} ${first.images.rows}×${first.images.cols}; all files of a data set must match`);
    }
  }
  return {
    featureShape: [first.images.rows, first.images.cols, 1],
    // The first pair is the train files; with a test pair pooled after it, say where it starts.
    ...(pairs.length > 1 ? { trainSamples: first.labels } : {}),
  };
}

/** The data set's init from pooled pixels and labels (of pairs pooledIdxShape accepted), with its class count and normalisation. */
export function pooledImageDatasetInit(
  opts: Pick<IdxDatasetOptions, 'name' | 'normalization' | 'numClasses'>,
  shape: { featureShape: number[]; trainSamples?: number },
  pixels: Uint8Array,
  labels: Uint8Array,
): ImageDatasetInit {
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > maxLabel) maxLabel = labels[i]!;
  const numClasses = opts.numClasses ?? maxLabel + 1;
  const normalization =
    opts.normalization === undefined || opts.normalization === 'auto' ? computeNormalization(pixels) : opts.normalization;
  return { name: opts.name, pixels, labels, numClasses, normalization, ...shape };
}

/** What imageDatasetFromIdx builds its data set from (the pooled arrays, shape and normalisation). */
export function imageDatasetInitFromIdx(opts: IdxDatasetOptions): ImageDatasetInit {
  if (opts.pairs.length === 0) throw new DataError(`${opts.name}: no IDX files given`);
  const parsed = opts.pairs.map((pair, k) => {
    const imagesSource = pair.imagesSource ?? `${opts.name} images #${k}`;
    const labelsSource = pair.labelsSource ?? `${opts.name} labels #${k}`;
    const images = parseIdxImages(pair.images, imagesSource);
    const labels = parseIdxLabels(pair.labels, labelsSource);
    pooledIdxShape(opts.name, [{ images, labels: labels.length, imagesSource, labelsSource }]);
    return { images, labels, imagesSource, labelsSource };
  });
  const shape = pooledIdxShape(opts.name, parsed.map((p) => ({ ...p, labels: p.labels.length })));
  const first = parsed[0]!;
  const featureSize = first.images.rows * first.images.cols;
  const total = parsed.reduce((a, p) => a + p.labels.length, 0);
  let pixels: Uint8Array;
  let labels: Uint8Array;
  if (parsed.length === 1 && !opts.allocate) {
    ({ pixels } = first.images);
    labels = first.labels.slice();
  } else {
    const allocate = opts.allocate ?? ((n: number) => new Uint8Array(n));
    pixels = allocate(total * featureSize);
    labels = allocate(total);
    let at = 0;
    for (const p of parsed) {
      pixels.set(p.images.pixels, at * featureSize);
      labels.set(p.labels, at);
      at += p.labels.length;
    }
  }
  return pooledImageDatasetInit(opts, shape, pixels, labels);
}

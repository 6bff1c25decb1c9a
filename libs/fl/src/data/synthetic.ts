import { Rng } from '../util/rng.js';
import { checkSampleIndex, DataError } from './errors.js';
import type { Dataset } from './types.js';

export interface SyntheticOptions {
  readonly seed: number;
  readonly numSamples: number;
  readonly numClasses: number;
  /** [d] for vectors, or e.g. [28, 28, 1] for image-like samples */
  readonly featureShape: readonly number[];
  /**
   * Expected distance between two class means in units of the per-feature noise std
   * (default 4): the difficulty stays the same whatever the dimension.
   */
  readonly separation?: number;
  readonly name?: string;
}

/**
 * Class-conditional Gaussians: x = μ_y + ε, ε ~ N(0, I). Labels are exactly balanced and shuffled.
 * Features are generated on gather from (seed, sample index), so memory is O(classes · d + samples)
 * whatever the number of samples, and any subset gathers the same values.
 */
export function syntheticDataset(opts: SyntheticOptions): Dataset {
  const { seed, numSamples, numClasses } = opts;
  const name = opts.name ?? 'synthetic';
  const featureShape = [...opts.featureShape];
  const d = featureShape.reduce((a, b) => a * b, 1);
  const separation = opts.separation ?? 4;
  if (!Number.isInteger(numSamples) || numSamples < 1) throw new DataError(`${name}: numSamples must be a positive integer, got ${numSamples}`);
  if (!Number.isInteger(numClasses) || numClasses < 2 || numClasses > 256) {
    throw new DataError(`${name}: numClasses must be an integer in 2..256, got ${numClasses}`);
  }
  if (featureShape.length === 0 || !Number.isInteger(d) || d < 1 || featureShape.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new DataError(`${name}: featureShape must be positive integers, got [${featureShape.join(', ')}]`);
  }
  if (!(separation >= 0) || !Number.isFinite(separation)) throw new DataError(`${name}: separation must be ≥ 0, got ${separation}`);

  // Two means drawn N(0, s²·I) lie s·√(2d) apart on average; pick s so that is `separation`.
  const meanStd = separation / Math.sqrt(2 * d);
  const means = new Float32Array(numClasses * d);
  const meanRng = Rng.derive(seed, 'synthetic', 'means');
  for (let i = 0; i < means.length; i++) means[i] = meanStd * meanRng.normal();

  const labels = new Uint8Array(numSamples);
  for (let i = 0; i < numSamples; i++) labels[i] = i % numClasses;
  Rng.derive(seed, 'synthetic', 'labels').shuffle(labels);

  return {
    name,
    numSamples,
    featureShape,
    numClasses,
    labels,
    gather(indices: ArrayLike<number>): Float32Array {
      const out = new Float32Array(indices.length * d);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        checkSampleIndex(name, i, numSamples);
        const rng = Rng.derive(seed, 'synthetic', 'x', i);
        const mu = labels[i]! * d;
        const dst = k * d;
        // Box–Muller, using both outputs of each pair (half the draws of Rng.normal()).
        for (let j = 0; j < d; j += 2) {
          let u = 0;
          while (u === 0) u = rng.float();
          const r = Math.sqrt(-2 * Math.log(u));
          const theta = 2 * Math.PI * rng.float();
          out[dst + j] = means[mu + j]! + r * Math.cos(theta);
          if (j + 1 < d) out[dst + j + 1] = means[mu + j + 1]! + r * Math.sin(theta);
        }
      }
      return out;
    },
  };
}

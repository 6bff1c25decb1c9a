/**
 * Coordinate-wise robust statistics over n update vectors (pure, deterministic). Columns are
 * gathered into a float64 scratch buffer and sorted, so the result does not depend on the order
 * the updates arrived in.
 */

/** Scales `u` in place to L2 norm ≤ clip; returns the norm before clipping. */
export function clipToNorm(u: Float64Array, clip: number): number {
  let sq = 0;
  for (let i = 0; i < u.length; i++) sq += u[i]! * u[i]!;
  const norm = Math.sqrt(sq);
  if (norm > clip) {
    const scale = clip / norm;
    for (let i = 0; i < u.length; i++) u[i]! *= scale;
  }
  return norm;
}

/** Weighted mean of the vectors, per coordinate. */
export function weightedMean(updates: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const size = updates[0]?.length ?? 0;
  const out = new Float64Array(size);
  let total = 0;
  for (let k = 0; k < updates.length; k++) {
    const w = weights[k]!;
    total += w;
    const u = updates[k]!;
    for (let i = 0; i < size; i++) out[i]! += w * u[i]!;
  }
  if (total > 0) for (let i = 0; i < size; i++) out[i]! /= total;
  return out;
}

/**
 * Mean of every coordinate after dropping its `trim` smallest and `trim` largest values
 * (trim = 0: the plain unweighted mean; n odd and trim = (n−1)/2: the median).
 */
export function trimmedMean(updates: readonly Float64Array[], trim: number): Float64Array {
  const n = updates.length;
  if (!(Number.isInteger(trim) && trim >= 0 && 2 * trim < n)) {
    throw new Error(`trimmedMean: cannot drop ${trim} from each end of ${n} values`);
  }
  const size = updates[0]!.length;
  const out = new Float64Array(size);
  const column = new Float64Array(n);
  const kept = n - 2 * trim;
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < n; k++) column[k] = updates[k]![i]!;
    column.sort();
    let s = 0;
    for (let k = trim; k < n - trim; k++) s += column[k]!;
    out[i] = s / kept;
  }
  return out;
}

/** Coordinate-wise median (the mean of the two middle values for an even count). */
export function coordinateMedian(updates: readonly Float64Array[]): Float64Array {
  const n = updates.length;
  if (n === 0) throw new Error('coordinateMedian: no updates');
  return trimmedMean(updates, Math.floor((n - 1) / 2));
}

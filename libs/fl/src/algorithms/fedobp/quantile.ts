/**
 * torch.quantile's default ('linear') quantile by selection instead of sorting: FedOBP needs one
 * threshold per client over every parameter element (millions for large models), recomputed at
 * every selection, so the O(n log n) sort would dominate the server's preparation time.
 */

/** Above this many elements a range is narrowed by recursing on a sample first (Floyd–Rivest). */
const SAMPLE_ABOVE = 600;

/**
 * Partial sort in place: afterwards `a[k]` holds the value a full sort would put there, every
 * element of [left, k) is ≤ it and every element of (k, right] is ≥ it. Expected O(n) (Floyd and
 * Rivest's SELECT); a range that stops shrinking (adversarial input) is finished by a sort, so
 * the worst case stays O(n log n). `a` must not contain NaN.
 */
export function selectInPlace(a: Float32Array, k: number, left = 0, right = a.length - 1): void {
  if (!Number.isInteger(k) || k < left || k > right) {
    throw new Error(`selectInPlace: k=${k} is outside [${left}, ${right}]`);
  }
  floydRivest(a, k, left, right);
}

function floydRivest(a: Float32Array, k: number, left: number, right: number): void {
  // Each pass normally cuts the range to about n^(2/3); far more passes than log2(n) means the
  // pivots keep missing, so the remaining range is sorted outright.
  let budget = 2 * Math.ceil(Math.log2(right - left + 2)) + 16;
  while (right > left) {
    if (--budget < 0) {
      a.subarray(left, right + 1).sort();
      return;
    }
    if (right - left > SAMPLE_ABOVE) {
      // Recurse on a window around k that holds the k-th element with high probability, so
      // the pivot below is close to it and the partition removes almost everything.
      const n = right - left + 1;
      const i = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (i < n / 2 ? -1 : 1);
      const innerLeft = Math.max(left, Math.floor(k - (i * s) / n + sd));
      const innerRight = Math.min(right, Math.floor(k + ((n - i) * s) / n + sd));
      floydRivest(a, k, innerLeft, innerRight);
    }
    const pivot = a[k]!;
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right]! > pivot) swap(a, left, right);
    // a[left] ≤ pivot ≤ a[right] now act as sentinels for the two scans.
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
    }
    if (a[left] === pivot) {
      swap(a, left, j);
    } else {
      j++;
      swap(a, j, right);
    }
    // The pivot sits at j with nothing larger before it and nothing smaller after it.
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function checkQ(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
}

/**
 * The q-quantile of `values` with linear interpolation between order statistics, as
 * torch.quantile(interpolation='linear'): pos = q·(n−1), result = lerp(v[⌊pos⌋], v[⌈pos⌉], pos − ⌊pos⌋),
 * with torch's two-sided lerp (exact at both ends). Arithmetic is float64, so the result can
 * differ from torch's float32 one in the last bits. Reorders `values`.
 */
export function quantileInPlace(values: Float32Array, q: number): number {
  checkQ(q);
  const n = values.length;
  if (n === 0) throw new Error('quantile: no values');
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i]!)) throw new Error(`quantile: element ${i} is NaN`);
  }
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const weight = pos - lo;
  selectInPlace(values, lo);
  const below = values[lo]!;
  if (weight === 0 || lo === n - 1) return below;
  // After the selection everything right of lo is ≥ below; the next order statistic is its minimum.
  let above = Infinity;
  for (let i = lo + 1; i < n; i++) if (values[i]! < above) above = values[i]!;
  return lerp(below, above, weight);
}

/** The same quantile without touching `values` (works on a copy). */
export function quantile(values: Float32Array, q: number): number {
  return quantileInPlace(values.slice(), q);
}

/** torch.lerp's formula: start + w·(end − start) below w = 0.5, end − (1 − w)·(end − start) from there. */
export function lerp(start: number, end: number, weight: number): number {
  if (start === end) return start;
  const diff = end - start;
  return weight < 0.5 ? start + weight * diff : end - (1 - weight) * diff;
}

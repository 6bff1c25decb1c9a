import type { ClientData, Dataset } from './types.js';

/** Materialises one client's split: normalised features and int32 labels. */
export function clientData(dataset: Dataset, indices: ArrayLike<number>): ClientData {
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) y[k] = dataset.labels[indices[k]!]!;
  return { x: dataset.gather(indices), y, n: indices.length, featureShape: dataset.featureShape };
}

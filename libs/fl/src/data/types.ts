/** A labelled data set held in memory in its compact form; samples are normalised on gather. */
export interface Dataset {
  readonly name: string;
  readonly numSamples: number;
  /** per-sample feature shape, e.g. [28, 28, 1] or [d] */
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  /** label of every sample, 0..numClasses-1 */
  readonly labels: Uint8Array;
  /**
   * Samples 0..trainSamples−1 come from the data set's own train files, the rest from its test
   * files (pooled in that order). Absent when the data set has no separate test files.
   */
  readonly trainSamples?: number;
  /** Normalised features of the given samples, concatenated: indices.length × prod(featureShape). */
  gather(indices: ArrayLike<number>): Float32Array;
}

/** One client's materialised samples (train or test split). */
export interface ClientData {
  /** n × featureSize normalised features */
  readonly x: Float32Array;
  /** n labels */
  readonly y: Int32Array;
  readonly n: number;
  readonly featureShape: readonly number[];
}

/** client → sample indices into the data set, computed once per run and stored as a manifest. */
export interface Partition {
  readonly numClients: number;
  readonly clients: readonly { readonly train: Uint32Array; readonly test: Uint32Array }[];
}

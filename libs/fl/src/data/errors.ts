/**
 * Bad data-set bytes or settings; the message names the file, field or knob to change. Another
 * attempt reads the same bytes, so a job that hits one is not retried (`retryable` is the marker
 * libs/runtime's transports look for).
 */
export class DataError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/** An IDX file that is not what it claims to be (magic, element type, dimensions, size). */
export class IdxFormatError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = 'IdxFormatError';
  }
}

/** A partition that cannot be made with the given settings. */
export class PartitionError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionError';
  }
}

/** A gather index must name a sample of the data set. */
export function checkSampleIndex(dataset: string, i: number, numSamples: number): void {
  if (!(i >= 0 && i < numSamples && Number.isInteger(i))) {
    throw new DataError(`${dataset}.gather: sample index ${i} is outside 0..${numSamples - 1}`);
  }
}

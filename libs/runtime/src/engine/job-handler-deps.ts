import type { BlobStore } from '../ports/blob-store.js';
import type { RunContextCache } from './run-context.js';

/** What every job handler works with (one set per compute thread). */
export interface JobHandlerDeps {
  readonly store: BlobStore;
  readonly contexts: RunContextCache;
  /** compute backend name, reported with every job for metrics */
  readonly backend: string;
}

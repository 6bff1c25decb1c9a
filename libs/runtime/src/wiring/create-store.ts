import { LocalDirBlobStore, S3BlobStore } from '../adapters/index.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { StoreConfig } from './store-config.js';

export function createBlobStore(config: StoreConfig): BlobStore {
  return config.kind === 'dir'
    ? new LocalDirBlobStore(config.root)
    : S3BlobStore.fromEnv(config.env);
}

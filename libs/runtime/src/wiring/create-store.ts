import { LocalDirBlobStore } from '../adapters/blob/local-dir.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { StoreConfig } from './store-config.js';

/**
 * The S3 adapter (and its SDK) is imported only when configured: compute threads of an embedded
 * run load this module, and each would otherwise carry the SDK's module graph (tens of MB under tsx).
 */
export async function createBlobStore(config: StoreConfig): Promise<BlobStore> {
  if (config.kind === 'dir') return new LocalDirBlobStore(config.root);
  const { S3BlobStore } = await import('../adapters/blob/s3.js');
  return S3BlobStore.fromEnv(config.env);
}

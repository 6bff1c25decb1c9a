import { BlobNotFoundError, type BlobStore, type SizedKey } from '@fedsim/runtime';

/** A blob store in a Map: lets a benchmark run job handlers with no storage cost around them. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>();

  async put(key: string, body: Uint8Array): Promise<void> {
    this.blobs.set(key, body);
  }

  async get(key: string): Promise<Uint8Array> {
    const body = this.blobs.get(key);
    if (!body) throw new BlobNotFoundError(key, 'memory');
    return body;
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.get(key)).subarray(offset, offset + length);
  }

  async listSized(prefix: string): Promise<SizedKey[]> {
    return (await this.list(prefix)).map((key) => ({ key, bytes: this.blobs.get(key)!.byteLength }));
  }

  async exists(key: string): Promise<boolean> {
    return this.blobs.has(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    this.blobs.delete(key);
  }

  async check(): Promise<void> {}

  describe(): string {
    return 'memory';
  }
}

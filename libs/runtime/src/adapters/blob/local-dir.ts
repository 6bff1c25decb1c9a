import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { assertValidRange, BlobNotFoundError, BlobStoreUnavailableError, rangePastEnd } from '../../ports/blob-store.js';
import type { BlobStore, SizedKey } from '../../ports/blob-store.js';
import { assertValidKey, assertValidPrefix, InvalidBlobKeyError } from './keys.js';

/** Temp files live here (same filesystem as the objects, so rename is atomic); never a key. */
const TMP_DIR = '.tmp-writes';

/**
 * A blob store over a local directory: key `a/b/c` is file `<root>/a/b/c`. Writes go to a temp
 * file and are renamed into place, so a reader sees the old object or the new one, never part of
 * one; concurrent writers of one key end with one writer's bytes.
 */
export class LocalDirBlobStore implements BlobStore {
  readonly rootDir: string;

  constructor(rootDir: string) {
    if (!rootDir) throw new Error('LocalDirBlobStore: rootDir is empty');
    this.rootDir = resolve(rootDir);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const tmpDir = join(this.rootDir, TMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(tmp, body);
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new Error(`could not write blob '${key}' to ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      return await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw new BlobNotFoundError(key, this.describe());
      throw err;
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    assertValidRange(key, offset, length);
    const path = this.pathOf(key);
    let file;
    try {
      file = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw new BlobNotFoundError(key, this.describe());
      throw err;
    }
    try {
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await file.read(out, got, length - got, offset + got);
        if (bytesRead === 0) throw rangePastEnd(key, offset, length, got);
        got += bytesRead;
      }
      return out;
    } finally {
      await file.close();
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.get(key);
      return true;
    } catch (err) {
      if (err instanceof BlobNotFoundError) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix names in full, then filter by the rest.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    if (baseKey === TMP_DIR || baseKey.startsWith(`${TMP_DIR}/`)) return [];
    const keys: string[] = [];
    await this.walk(baseKey, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  async listSized(prefix: string): Promise<SizedKey[]> {
    const out: SizedKey[] = [];
    for (const key of await this.list(prefix)) {
      try {
        out.push({ key, bytes: (await stat(this.pathOf(key))).size });
      } catch (err) {
        // deleted between the walk and the stat: no longer under the prefix
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.rootDir, { recursive: true });
      await access(this.rootDir, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new BlobStoreUnavailableError(
        `blob directory ${this.rootDir} is not usable (${(err as Error).message}); `
          + 'point the store at a writable directory or fix its permissions',
        { cause: err },
      );
    }
  }

  describe(): string {
    return `dir:${this.rootDir}`;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) throw new InvalidBlobKeyError(key, `'${TMP_DIR}' is reserved`);
    const path = join(this.rootDir, ...key.split('/'));
    // Belt and braces: the key grammar already forbids '..', this catches anything it missed.
    if (!path.startsWith(this.rootDir + sep)) throw new InvalidBlobKeyError(key, 'resolves outside the store root');
    return path;
  }

  private async walk(dirKey: string, out: string[]): Promise<void> {
    const dir = dirKey ? join(this.rootDir, ...dirKey.split('/')) : this.rootDir;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (!dirKey && entry.name === TMP_DIR) continue;
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await this.walk(key, out);
      else if (entry.isFile()) out.push(key);
    }
  }
}

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalDirBlobStore } from '../../src/adapters/blob/local-dir.js';
import { BlobStoreUnavailableError } from '../../src/ports/blob-store.js';
import { blobStoreConformance } from './blob-store-conformance.js';

blobStoreConformance('LocalDirBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-blob-'));
  return { store: new LocalDirBlobStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

test('LocalDirBlobStore: objects are plain files under the root and temp files never show up in list', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-blob-'));
  try {
    const store = new LocalDirBlobStore(dir);
    await store.put('runs/r/model.bin', new Uint8Array([7]));
    assert.deepEqual(await readdir(join(dir, 'runs', 'r')), ['model.bin']);
    assert.deepEqual(await store.list(''), ['runs/r/model.bin']);
    assert.deepEqual(await store.list('.tmp-writes/'), []);
    await assert.rejects(store.put('.tmp-writes/x', new Uint8Array([1])), /reserved/);
    assert.equal(store.describe(), `dir:${dir}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('LocalDirBlobStore: check fails with an actionable message when the root is not a usable directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-blob-'));
  try {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const store = new LocalDirBlobStore(join(file, 'sub'));
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(err instanceof BlobStoreUnavailableError);
      assert.match(err.message, /a-file\/sub is not usable/);
      assert.match(err.message, /writable directory/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

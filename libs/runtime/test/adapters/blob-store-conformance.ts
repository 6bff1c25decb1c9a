import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlobNotFoundError } from '../../src/ports/blob-store.js';
import type { BlobStore } from '../../src/ports/blob-store.js';

export interface BlobStoreFixture {
  readonly store: BlobStore;
  close(): Promise<void>;
}

export interface BlobStoreConformanceOptions {
  /**
   * Whether the backend itself replaces objects atomically under concurrent writers. Real S3 and
   * MinIO do; s3rver (the test double) rewrites its object file in place, so the S3 suite turns
   * this off rather than test s3rver's internals.
   */
  readonly atomicOverwrites?: boolean;
}

/**
 * The behaviour every BlobStore must show. Each case gets a fresh, empty store from `create`.
 */
export function blobStoreConformance(
  name: string,
  create: () => Promise<BlobStoreFixture>,
  options: BlobStoreConformanceOptions = {},
): void {
  const withStore = (title: string, body: (store: BlobStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const fixture = await create();
      try {
        await body(fixture.store);
      } finally {
        await fixture.close();
      }
    });

  withStore('put then get returns the same bytes, including every byte value and empty bodies', async (store) => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await store.put('runs/r1/rounds/000001/global.bin', all);
    await store.put('runs/r1/empty', new Uint8Array(0));
    assert.deepEqual(new Uint8Array(await store.get('runs/r1/rounds/000001/global.bin')), all);
    assert.equal((await store.get('runs/r1/empty')).byteLength, 0);
  });

  withStore('put overwrites an existing object', async (store) => {
    await store.put('a/b', new Uint8Array([1, 2, 3]));
    await store.put('a/b', new Uint8Array([9]));
    assert.deepEqual([...await store.get('a/b')], [9]);
  });

  withStore('get of a missing key throws BlobNotFoundError naming the key', async (store) => {
    await assert.rejects(store.get('no/such/key'), (err: unknown) => {
      assert.ok(err instanceof BlobNotFoundError);
      assert.equal(err.key, 'no/such/key');
      assert.match(err.message, /no\/such\/key/);
      return true;
    });
    // a "directory" that only exists as a prefix of other keys is not an object either
    await store.put('dir/child', new Uint8Array([1]));
    await assert.rejects(store.get('dir'), BlobNotFoundError);
  });

  withStore('getRange returns exactly the bytes asked for; a missing key or a range past the end is refused', async (store) => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await store.put('runs/r1/pack.bin', all);
    assert.deepEqual([...await store.getRange('runs/r1/pack.bin', 10, 5)], [10, 11, 12, 13, 14]);
    assert.deepEqual([...await store.getRange('runs/r1/pack.bin', 250, 6)], [250, 251, 252, 253, 254, 255]);
    assert.equal((await store.getRange('runs/r1/pack.bin', 0, 0)).byteLength, 0);
    await assert.rejects(store.getRange('runs/r1/none.bin', 0, 4), BlobNotFoundError);
    await assert.rejects(store.getRange('runs/r1/pack.bin', 250, 7), /ends before|range/i);
    await assert.rejects(store.getRange('runs/r1/pack.bin', -1, 2), RangeError);
  });

  withStore('listSized lists like list, with each object\'s size in bytes', async (store) => {
    await store.put('runs/a/1', new Uint8Array(3));
    await store.put('runs/a/2', new Uint8Array(0));
    await store.put('runs/b/1', new Uint8Array(7));
    assert.deepEqual(await store.listSized('runs/a/'), [{ key: 'runs/a/1', bytes: 3 }, { key: 'runs/a/2', bytes: 0 }]);
    assert.deepEqual((await store.listSized('')).map((k) => k.key), await store.list(''));
  });

  withStore('exists tells present from absent keys', async (store) => {
    assert.equal(await store.exists('x/y'), false);
    await store.put('x/y', new Uint8Array([1]));
    assert.equal(await store.exists('x/y'), true);
    assert.equal(await store.exists('x'), false);
  });

  withStore('list returns every key under a prefix, sorted, and nothing else', async (store) => {
    const keys = ['runs/b/2', 'runs/a/10', 'runs/a/2', 'runs/a/1/deep/x', 'runs/ab', 'other/a', 'top'];
    for (const key of keys) await store.put(key, new Uint8Array([key.length]));
    assert.deepEqual(await store.list('runs/a/'), ['runs/a/1/deep/x', 'runs/a/10', 'runs/a/2']);
    assert.deepEqual(await store.list('runs/a'), ['runs/a/1/deep/x', 'runs/a/10', 'runs/a/2', 'runs/ab']);
    assert.deepEqual(await store.list(''), [...keys].sort());
    assert.deepEqual(await store.list('nothing/'), []);
    assert.deepEqual(await store.list('runs/a/1/deep/x'), ['runs/a/1/deep/x']);
  });

  withStore('list pages through more keys than one page holds', async (store) => {
    const keys = Array.from({ length: 23 }, (_, i) => `many/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((key) => store.put(key, new Uint8Array([1]))));
    assert.deepEqual(await store.list('many/'), keys);
  });

  withStore('delete removes an object; deleting a missing key is not an error', async (store) => {
    await store.put('d/1', new Uint8Array([1]));
    await store.put('d/2', new Uint8Array([2]));
    await store.delete('d/1');
    await store.delete('d/1');
    await store.delete('never/was');
    assert.equal(await store.exists('d/1'), false);
    assert.deepEqual(await store.list('d/'), ['d/2']);
  });

  withStore('rejects keys that could escape the store or are malformed', async (store) => {
    for (const bad of ['', '/abs', '../up', 'a/../b', 'a/./b', 'a//b', 'a/', 'back\\slash', 'nul\u0000']) {
      await assert.rejects(store.put(bad, new Uint8Array([1])), /invalid blob key/, `put '${bad}'`);
      await assert.rejects(store.get(bad), /invalid blob key/, `get '${bad}'`);
    }
    await assert.rejects(store.list('../'), /invalid blob key/);
  });

  if (options.atomicOverwrites ?? true) withStore('concurrent writers and readers of one key only ever see whole objects', async (store) => {
    const bodies = [new Uint8Array(200_000).fill(1), new Uint8Array(150_000).fill(2), new Uint8Array(100_000).fill(3)];
    await store.put('race/k', bodies[0]!);
    const reads: Promise<Uint8Array>[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      writes.push(store.put('race/k', bodies[i % bodies.length]!));
      reads.push(store.get('race/k'));
    }
    await Promise.all(writes);
    for (const got of await Promise.all(reads)) {
      const match = bodies.find((b) => b.byteLength === got.byteLength);
      assert.ok(match, `read an object of ${got.byteLength} bytes, which no writer wrote`);
      assert.ok(got.every((v) => v === match[0]), 'read an object mixing two writes');
    }
  });

  withStore('check passes and describe names the store', async (store) => {
    await store.check();
    assert.ok(store.describe().length > 0);
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A compute thread's entry loads the local-directory store only: the S3 SDK, BullMQ and ioredis
 * (tens of MB per thread) come in when an S3 store is configured. A fresh process: the test
 * runner's own may have loaded them already.
 */
test('the compute thread entry loads none of the S3, BullMQ and ioredis packages until an S3 store is configured', () => {
  const entry = fileURLToPath(new URL('../../src/wiring/worker-thread.ts', import.meta.url));
  const createStore = fileURLToPath(new URL('../../src/wiring/create-store.ts', import.meta.url));
  const script = `
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    const vendors = () => ['/@aws-sdk/', '/bullmq/', '/ioredis/'].filter((p) => Object.keys(cache).some((f) => f.includes('/node_modules' + p)));
    await import(${JSON.stringify(entry)});
    const { createBlobStore } = await import(${JSON.stringify(createStore)});
    const dir = await createBlobStore({ kind: 'dir', root: '/tmp' });
    const before = vendors();
    const s3 = await createBlobStore({ kind: 's3', env: { S3_ENDPOINT: 'http://127.0.0.1:9', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' } });
    console.log(JSON.stringify({ before, dir: dir.constructor.name, s3: s3.constructor.name, after: vendors().includes('/@aws-sdk/') }));`;
  const r = spawnSync(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown;
  assert.deepEqual(out, { before: [], dir: 'LocalDirBlobStore', s3: 'S3BlobStore', after: true });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodeIdx } from '@fedsim/fl/data';
import { loadImageDataset } from '../../src/data/index.js';

const root = mkdtempSync(join(tmpdir(), 'fedsim-shared-data-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'train-images-idx3-ubyte'), encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20)));
writeFileSync(join(root, 'train-labels-idx1-ubyte'), encodeIdx([3], Uint8Array.from([2, 0, 1])));

/** Runs shared-worker.ts with these loader options; resolves with what it reports. */
function inWorker(opts: object): Promise<{ ok?: { shared: boolean; gathered: number[]; labels: number[] }; error?: { name: string; message: string } }> {
  // as the thread pool boots its threads: register tsx, then import the TypeScript entry
  const boot = `(async () => { (await import('tsx/esm/api')).register(); await import(${JSON.stringify(new URL('./shared-worker.ts', import.meta.url).href)}); })()`;
  const w = new Worker(boot, { eval: true, workerData: opts });
  return new Promise((ok, fail) => {
    w.once('message', (m: Awaited<ReturnType<typeof inWorker>>) => void w.terminate().then(() => ok(m)));
    w.once('error', fail);
  });
}

test('worker threads get the main thread’s copy of an image data set, in shared memory', async () => {
  const opts = { name: 'idx', dir: root, normalization: { mean: 0, std: 1 } };
  const mine = await loadImageDataset({ name: 'idx', dir: root, normalization: { mean: 0, std: 1 } });
  const got = await inWorker(opts);
  assert.ok(got.ok, JSON.stringify(got));
  assert.equal(got.ok.shared, true);
  assert.deepEqual(got.ok.labels, Array.from(mine.labels));
  assert.deepEqual(got.ok.gathered, Array.from(mine.gather([2, 0])));
});

test('a data set the main thread cannot load fails in the worker with the same error class and message', async () => {
  const missing = join(root, 'nowhere');
  const got = await inWorker({ name: 'idx', dir: missing });
  assert.equal(got.error?.name, 'DatasetNotFoundError');
  assert.match(got.error?.message ?? '', /nowhere/);
});

// Worker side of shared.test.ts: loads the data set named in workerData and reports what it got.
import { parentPort, workerData } from 'node:worker_threads';
import { requestSharedDataset } from '../../src/data/shared-datasets.js';
import { loadImageDataset, type ImageDatasetOptions } from '../../src/data/index.js';

const opts = workerData as ImageDatasetOptions;
try {
  const ds = await loadImageDataset(opts);
  const init = await requestSharedDataset(opts, (e) => new Error(e.message));
  parentPort!.postMessage({
    ok: {
      shared: init?.pixels.buffer instanceof SharedArrayBuffer && init.labels.buffer instanceof SharedArrayBuffer,
      gathered: Array.from(ds.gather([2, 0])),
      labels: Array.from(ds.labels),
    },
  });
} catch (e) {
  parentPort!.postMessage({ error: { name: (e as Error).name, message: (e as Error).message } });
}

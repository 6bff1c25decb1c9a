import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * The addon loaded first by a worker thread (as in embedded runs) must get the OpenBLAS settings
 * its loader chooses: a worker's process.env is a private copy that OpenBLAS never reads.
 */
const require = createRequire(import.meta.url);
let addonPath: string | undefined;
try {
  addonPath = require.resolve('@fedsim/native-kernels');
  require(addonPath);
} catch {
  addonPath = undefined;
}

test('a worker thread that loads the addon first gets the requested OpenBLAS core and one thread', { skip: addonPath ? false : 'native addon unavailable' }, () => {
  // a fresh process, so that no thread has loaded OpenBLAS yet
  const script = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const fs = require('node:fs');
      const before = fs.readdirSync('/proc/self/task').length;
      const k = require(${JSON.stringify(addonPath)});
      require('node:worker_threads').parentPort.postMessage({ core: k.info().blasCore, extraThreads: fs.readdirSync('/proc/self/task').length - before });
    \`, { eval: true });
    w.on('message', (m) => console.log(JSON.stringify(m)));`;
  for (const core of ['Haswell', 'SkylakeX']) {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, FEDSIM_OPENBLAS_CORETYPE: core } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { core, extraThreads: 0 });
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keys, runExperiment } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-resume-eval-'));
after(() => rm(dir, { recursive: true, force: true }));

for (const cohortSize of [1, 2]) {
  test(`a run stopped between its last commit and its evaluation evaluates on resume (cohortSize ${cohortSize})`, async () => {
    const config = syntheticExperiment({ rounds: 2, eval: { every: 1 }, cohortSize });
    // a fresh runtime for each part, as after a crash (the embedded queue remembers settled flows)
    const open = () => embeddedRuntime({ root: dir, workers: 2, backend: 'wasm' });
    let rt = await open();
    const full = await runExperiment(config, { runId: `r${cohortSize}`, store: rt.store, transport: rt.transport }).finally(() => rt.close());
    assert.equal(full.final?.round, 2);
    rt = await open();
    try {
      // the state a kill right after round 1's commit leaves: both commits, no final evaluation
      await rt.store.delete(keys.evalSummary(`r${cohortSize}`, 2));
      const resumed = await runExperiment(config, { runId: `r${cohortSize}`, store: rt.store, transport: rt.transport });
      assert.equal(resumed.final?.round, 2, 'the final evaluation is redone, not lost');
      assert.deepEqual(resumed.final?.results, full.final?.results);
      assert.equal(resumed.finalModelSha256, full.finalModelSha256);
    } finally {
      await rt.close();
    }
  });
}

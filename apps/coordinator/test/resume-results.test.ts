import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RoundRow, RunSummary } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from '../../../test/integration/fixtures.js';
import { ResultsFiles } from '../src/results-files.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-resume-results-'));
after(() => rm(dir, { recursive: true, force: true }));

test('resuming after the final evaluation was lost re-runs it, and every committed round gets its row', async () => {
  const config = syntheticExperiment({ rounds: 3, eval: { every: 2 } });
  const root = join(dir, 'store');
  const firstRt = await embeddedRuntime({ root, workers: 1, backend: 'wasm' });
  const first = await runExperiment(config, { runId: 'r', store: firstRt.store, transport: firstRt.transport }).finally(() => firstRt.close());
  assert.equal(first.final?.round, 3);
  const rt = await embeddedRuntime({ root, workers: 1, backend: 'wasm' });
  try {
    // The coordinator died during the final evaluation: round 2 is committed, its evaluation is not.
    await rm(join(root, keys.evalSummary('r', 3)));

    // The resumed coordinator runs elsewhere: no results files of the first process.
    const results = new ResultsFiles(join(dir, 'second'), 'r', null);
    let committed: readonly RoundRow[] = [];
    const second: RunSummary = await runExperiment(config, {
      runId: 'r',
      store: rt.store,
      transport: rt.transport,
      observer: {
        async onStart(info) {
          committed = info.committed;
          await results.start(config, info.resumedFrom, info.committed);
        },
        onRound: () => assert.fail('every round was committed; none runs again'),
      },
    });
    assert.equal(second.final?.round, 3, 'the final evaluation is of the last model, not an earlier one');
    assert.deepEqual(second.final?.results, first.final?.results);
    assert.deepEqual(committed.map((r) => r.round), [0, 1, 2]);
    assert.ok(committed[1]?.evaluation && !committed[0]?.evaluation, 'rows carry the evaluations of their rounds');
    assert.ok(committed[2]?.evaluation?.['personalized'], 'the re-run evaluation is in the last row');
    const rows = (await readFile(join(dir, 'second', 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RoundRow);
    assert.deepEqual(rows.map((r) => r.round), [0, 1, 2]);
  } finally {
    await rt.close();
  }
});

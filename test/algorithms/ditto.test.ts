import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DITTO_PERSONAL_STATE } from '@fedsim/fl/algorithms';
import { selectAll } from '@fedsim/fl/params';
import { stateOfReply } from '@fedsim/runtime/engine';
import { assertStatePersists, globals, personalRunConfig, recordedRun, uploadOf } from './recorded-run.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-ditto-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('Ditto on the engine: v_i persists per client and is never uploaded; θ_g is the FedAvg of global copies', async () => {
  const run = await recordedRun(personalRunConfig({ name: 'ditto', lambda: 0.5 }), dir);
  const states = await assertStatePersists(run, [DITTO_PERSONAL_STATE]);
  for (const list of states) for (const s of list) assert.equal(s[DITTO_PERSONAL_STATE]!.length, run.model.spec.size);

  const thetas = await globals(run);
  for (let t = 1; t < thetas.length; t++) assert.notDeepEqual(thetas[t], thetas[t - 1], `round ${t - 1} moved θ_g`);
  // What went up is the global copy, not v_i.
  for (const t of run.trains) {
    const up = await uploadOf(run, t, selectAll);
    const v = (await stateOfReply(run.store, t.reply))[DITTO_PERSONAL_STATE]!;
    assert.notDeepEqual(up, v, `round ${t.round} client ${t.clientId} uploaded its global copy`);
  }

  const final = run.summary.final?.results;
  assert.ok(final?.['personalized'] && final['global'], 'personalized (v_i) and global (θ_g) reported');
  assert.ok(final['personalized'].pooledAccuracy > 0.4, `v_i learned: ${final['personalized'].pooledAccuracy}`);
});

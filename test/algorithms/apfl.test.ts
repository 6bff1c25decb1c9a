import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { APFL_ALPHA_STATE, APFL_PERSONAL_STATE } from '@fedsim/fl/algorithms';
import { selectAll } from '@fedsim/fl/params';
import { stateOfReply } from '@fedsim/runtime/engine';
import { assertStatePersists, globals, personalRunConfig, recordedRun, uploadOf } from './recorded-run.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-apfl-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('APFL on the engine: v_i and α_i persist per client, α_i stays in [0, 1], only w is uploaded', async () => {
  const run = await recordedRun(personalRunConfig({ name: 'apfl' }), dir);
  await assertStatePersists(run, [APFL_PERSONAL_STATE, APFL_ALPHA_STATE]);

  let moved = false;
  for (const t of run.trains) {
    const state = await stateOfReply(run.store, t.reply);
    const alpha = state[APFL_ALPHA_STATE]!;
    assert.equal(alpha.length, 1);
    assert.ok(alpha[0]! >= 0 && alpha[0]! <= 1, `α of client ${t.clientId} after round ${t.round}: ${alpha[0]}`);
    if (alpha[0] !== 0.5) moved = true;
    assert.equal(state[APFL_PERSONAL_STATE]!.length, run.model.spec.size);
    assert.notDeepEqual(await uploadOf(run, t, selectAll), state[APFL_PERSONAL_STATE], 'the upload is w, not v_i');
  }
  assert.ok(moved, 'α_i is learned');

  const thetas = await globals(run);
  for (let t = 1; t < thetas.length; t++) assert.notDeepEqual(thetas[t], thetas[t - 1], `round ${t - 1} moved θ_g`);

  const final = run.summary.final?.results;
  assert.ok(final?.['personalized'] && final['global'], 'personalized (mixture) and global (θ_g) reported');
  assert.ok(final['personalized'].pooledAccuracy > 0.4, `the mixture learned: ${final['personalized'].pooledAccuracy}`);
});

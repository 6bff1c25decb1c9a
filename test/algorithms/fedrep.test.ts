import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PERSONAL_STATE } from '@fedsim/fl/algorithms';
import { gatherTensors, selectRole, subSpec } from '@fedsim/fl/params';
import { assertStatePersists, globals, personalRunConfig, recordedRun, uploadOf } from './recorded-run.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-fedrep-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('FedRep on the engine: the personal head persists per client, θ_g’s head never changes', async () => {
  const run = await recordedRun(personalRunConfig({ name: 'fedrep', headEpochs: 2 }), dir);
  const spec = run.model.spec;
  const head = selectRole('head');
  const body = selectRole('body');

  const states = await assertStatePersists(run, [PERSONAL_STATE]);
  for (const list of states) {
    for (const s of list) assert.equal(s[PERSONAL_STATE]!.length, subSpec(spec, head).size, 'the state holds the head');
  }

  const thetas = await globals(run);
  const head0 = gatherTensors(spec, thetas[0]!, head);
  for (let t = 1; t < thetas.length; t++) {
    assert.deepEqual(gatherTensors(spec, thetas[t]!, head), head0, `θ_g^${t}'s head is the initial one`);
    const [now, prev] = [gatherTensors(spec, thetas[t]!, body), gatherTensors(spec, thetas[t - 1]!, body)];
    assert.notDeepEqual(now, prev, `round ${t - 1} moved the body`);
  }
  // Uploads carry the body only; the head went to the client's state instead.
  for (const t of run.trains) {
    assert.equal((await uploadOf(run, t, body)).length, subSpec(spec, body).size);
  }
  // 2 head epochs + 1 body epoch per participation.
  for (const t of run.trains) assert.equal(t.reply.steps % 3, 0);

  const final = run.summary.final?.results;
  assert.ok(final?.['personalized'], 'personalized evaluation reported');
  assert.equal(final['global'], undefined, 'θ_g (initial head) is not reported as a model');
  assert.ok(final['personalized'].pooledAccuracy > 0.4, `the personal heads learned: ${final['personalized'].pooledAccuracy}`);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alwaysOnline, fedBuffModeSchema, planFedBuff } from '@fedsim/fl/system';
import { createModel } from '@fedsim/fl/models';
import { parseExperiment } from '../../src/config/experiment.js';
import { algorithmFor } from '../../src/engine/run-context.js';
import { assertFedBuffRuns, duplicateStatefulArrival, keepsClientState } from '../../src/system/fedbuff-plan.js';
import { stalenessSummary } from '../../src/system/round-fields.js';
import { dispatchesFrom } from '../../src/system/fedbuff-dispatch.js';

const fedbuff = { kind: 'fedbuff', concurrency: 3, bufferSize: 2, maxStaleness: 1 };
const config = (algorithm: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseExperiment({
    name: 'fb',
    data: { kind: 'synthetic', numSamples: 200, featureShape: [4], numClasses: 2 },
    partition: { kind: 'iid', numClients: 4 },
    model: 'mlp',
    algorithm,
    rounds: 2,
    train: { epochs: 1, batchSize: 10 },
    system: { devices: { kind: 'trace', file: 'x' }, mode: fedbuff },
    ...extra,
  });
const hooksOf = (c: ReturnType<typeof config>) => algorithmFor(c, createModel(c.model, { inputShape: [4], numClasses: 2 }), 4).hooks;

test('FedBuff configs parse; algorithms that prepare rounds run, cohort partials are refused, naming why; auto cohorts run', () => {
  const fedavg = config({ name: 'fedavg' });
  assert.doesNotThrow(() => assertFedBuffRuns(fedavg));
  for (const name of ['fedobp', 'fiarse', 'heterofl']) assert.doesNotThrow(() => assertFedBuffRuns(config({ name })), name);
  assert.doesNotThrow(() => assertFedBuffRuns(config({ name: 'fedavg' }, { cohortSize: 'auto' })));
  assert.doesNotThrow(() => assertFedBuffRuns(config({ name: 'fedavg' }, { cohortSize: 1 })));
  const cohorts = config({ name: 'fedavg' }, { cohortSize: 4 });
  assert.throws(() => assertFedBuffRuns(cohorts), /cohortSize 4: FedBuff rebases every update/);
  assert.equal(keepsClientState(hooksOf(fedavg), createModel('mlp', { inputShape: [4], numClasses: 2 }).spec), false);
  const fedper = config({ name: 'fedper' });
  assert.equal(keepsClientState(hooksOf(fedper), createModel('mlp', { inputShape: [4], numClasses: 2 }).spec), true);
});

test('a plan where a client arrives twice in one flush is refused for stateful algorithms; staleness summary is hand-checked', () => {
  // The hand-computed plan of libs/fl/test/system/fedbuff.test.ts: client 0 arrives twice in step 1.
  const steps = planFedBuff({
    seed: 5, numClients: 3, mode: fedBuffModeSchema.parse(fedbuff), availability: alwaysOnline, steps: 4, secondsOf: (c) => [1, 2, 5][c]!,
  });
  assert.match(duplicateStatefulArrival(steps) ?? '', /client 0 arrives twice in round 0 \(model version 1\).*Set system\.mode\.oncePerFlush: true/);
  assert.equal(duplicateStatefulArrival(steps.slice(1, 3)), null);
  // The dispatches each version's commit prepares: those that start from it, wherever they arrive
  // (client#dispatch, hand-read from the plan: v0 → 0#0 0#3 1#1; stale 2#2 never trains, so never prepared).
  const from = (v: number) => dispatchesFrom(steps, v).map((d) => `${d.clientId}#${d.dispatch}`);
  assert.deepEqual([0, 1, 2, 3, 4].map(from), [['0#0', '1#1', '0#3'], ['0#4', '1#5'], ['0#6', '0#7'], ['0#9'], []]);
  // staleness of the 8 arrivals: 0 0 | 1 0 | 0 1 | 1 0
  assert.deepEqual(stalenessSummary(steps), { updates: 8, mean: 3 / 8, max: 1, histogram: { '0': 5, '1': 3 } });
});

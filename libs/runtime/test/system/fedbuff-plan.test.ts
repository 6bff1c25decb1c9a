import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alwaysOnline, fedBuffModeSchema, planFedBuff } from '@fedsim/fl/system';
import { createModel } from '@fedsim/fl/models';
import { parseExperiment } from '../../src/config/experiment.js';
import { algorithmFor } from '../../src/engine/run-context.js';
import { assertFedBuffRuns, duplicateStatefulArrival, keepsClientState } from '../../src/system/fedbuff-plan.js';
import { stalenessSummary } from '../../src/system/round-fields.js';

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

test('FedBuff configs parse; algorithms that prepare rounds on the server and cohort partials are refused, naming why', () => {
  const fedavg = config({ name: 'fedavg' });
  assert.doesNotThrow(() => assertFedBuffRuns(fedavg, hooksOf(fedavg)));
  const fedobp = config({ name: 'fedobp' });
  assert.throws(() => assertFedBuffRuns(fedobp, hooksOf(fedobp)), /system\.mode fedbuff: algorithm 'fedobp' prepares each client's round on the server/);
  const cohorts = config({ name: 'fedavg' }, { cohortSize: 4 });
  assert.throws(() => assertFedBuffRuns(cohorts, hooksOf(cohorts)), /cohortSize 4: FedBuff rebases every update/);
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
  // staleness of the 8 arrivals: 0 0 | 1 0 | 0 1 | 1 0
  assert.deepEqual(stalenessSummary(steps), { updates: 8, mean: 3 / 8, max: 1, histogram: { '0': 5, '1': 3 } });
});

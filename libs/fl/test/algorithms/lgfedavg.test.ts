import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { PERSONAL_STATE, withPersonal } from '../../src/algorithms/base.js';
import { lgfedavg } from '../../src/algorithms/lgfedavg.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { AlgorithmEnv } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { gatherTensors, subSpec } from '../../src/params/spec.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const spec = model.spec;
const sgd = { lr: 0.1, momentum: 0, weightDecay: 0 };
const env: AlgorithmEnv = { model, numClients: 2, seed: 1, train: { sgd, batchSize: 16, epochs: 1 }, finetune: { epochs: 1, sgd } };
const hooks = lgfedavg.create(env, {});

test('declaration: personal body, shared head, no global model of its own', () => {
  assert.equal(algorithmByName('lgfedavg'), lgfedavg);
  assert.deepEqual(spec.tensors.filter(hooks.personal).map((t) => t.name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  assert.deepEqual(spec.tensors.filter(hooks.shared).map((t) => t.name), ['classifier.weight', 'classifier.bias']);
  assert.equal(hooks.hasGlobalModel, false);
  assert.equal(lgfedavg.options.safeParse({ weighted: true }).success, false);
});

test('aggregation averages the head and never touches the personal body', () => {
  const previous = model.init(1);
  const agg = hooks.createAggregator(previous, 0);
  const n = subSpec(spec, hooks.shared).size;
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array(n).fill(1) });
  agg.add({ clientId: 1, numSamples: 3, values: new Float32Array(n).fill(5) });
  const next = agg.finish();
  assert.deepEqual(gatherTensors(spec, next, hooks.personal), gatherTensors(spec, previous, hooks.personal));
  assert.ok(gatherTensors(spec, next, hooks.shared).every((v) => v === 4));
});

test('evaluation uses the client’s own body with the global head', async () => {
  const dataset = syntheticDataset({ seed: 4, numSamples: 60, numClasses: 3, featureShape: [8] });
  const test = clientData(dataset, Array.from({ length: 60 }, (_, i) => i));
  const global = model.init(2);
  const ownBody = gatherTensors(spec, model.init(99), hooks.personal);
  const state = { [PERSONAL_STATE]: ownBody };
  const r = await hooks.evaluate({ clientId: 0, round: 1, global, state, train: test, test, seed: 1 });
  assert.deepEqual(r.personalized, await evaluate(model, withPersonal(spec, global, hooks.personal, state), test));
  assert.notDeepEqual(r.personalized, await evaluate(model, global, test), 'the stored body was used');
  assert.equal(r['global'], undefined);
});

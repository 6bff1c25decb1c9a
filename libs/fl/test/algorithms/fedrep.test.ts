import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { PERSONAL_STATE, withPersonal } from '../../src/algorithms/base.js';
import { fedrep, fedRepOptionsSchema, type FedRepOptions } from '../../src/algorithms/fedrep.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { AlgorithmEnv, ClientState, FitInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { gatherTensors, selectRole, subSpec } from '../../src/params/spec.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const spec = model.spec;
const sgd = { lr: 0.05, momentum: 0.5, weightDecay: 0 };
const env: AlgorithmEnv = { model, numClients: 2, seed: 1, train: { sgd, batchSize: 16, epochs: 1 }, finetune: { epochs: 1, sgd } };
const dataset = syntheticDataset({ seed: 4, numSamples: 80, numClasses: 3, featureShape: [8] });
const data = clientData(dataset, Array.from({ length: 80 }, (_, i) => i));
const head = selectRole('head');
const body = selectRole('body');

function fitInput(global: Float32Array, state?: ClientState): FitInput {
  return {
    clientId: 0,
    round: 3,
    global,
    start: withPersonal(spec, global, head, state),
    state,
    instruction: undefined,
    train: data,
    seed: 17,
  };
}

const fit = (options: FedRepOptions, input: FitInput) => fedrep.create(env, options).fit(input);
const changed = (a: Float32Array, b: Float32Array) => a.some((x, i) => x !== b[i]);

test('options: head_epochs 10 and body_epochs 1 by default; unknown or bad fields are refused', () => {
  assert.equal(algorithmByName('fedrep'), fedrep);
  assert.deepEqual(fedRepOptionsSchema.parse({}), { headEpochs: 10, bodyEpochs: 1 });
  assert.equal(fedRepOptionsSchema.safeParse({ head_epochs: 3 }).success, false);
  assert.equal(fedRepOptionsSchema.safeParse({ headEpochs: -1 }).success, false);
  assert.equal(fedRepOptionsSchema.safeParse({ bodyEpochs: 0.5 }).success, false);
});

test('declaration: personal head, shared body, no global model of its own', () => {
  const hooks = fedrep.create(env, fedRepOptionsSchema.parse({}));
  assert.deepEqual(spec.tensors.filter(hooks.personal).map((t) => t.name), ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(spec.tensors.filter(hooks.shared).map((t) => t.name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  assert.equal(hooks.hasGlobalModel, false);
  assert.equal(hooks.upload, 'model');
});

test('head epochs leave the body bit-identical; body epochs leave the head bit-identical', async () => {
  const global = model.init(2);
  const input = fitInput(global);
  const headOnly = await fit({ headEpochs: 2, bodyEpochs: 0 }, input);
  assert.deepEqual(gatherTensors(spec, headOnly.trained, body), gatherTensors(spec, global, body));
  assert.ok(changed(gatherTensors(spec, headOnly.trained, head), gatherTensors(spec, global, head)), 'the head trained');
  assert.equal(headOnly.steps, 2 * 5);

  const bodyOnly = await fit({ headEpochs: 0, bodyEpochs: 1 }, input);
  assert.deepEqual(gatherTensors(spec, bodyOnly.trained, head), gatherTensors(spec, global, head));
  assert.ok(changed(gatherTensors(spec, bodyOnly.trained, body), gatherTensors(spec, global, body)), 'the body trained');
  assert.equal(bodyOnly.steps, 5);
});

test('the head phase runs first and the body phase does not touch its result', async () => {
  const input = fitInput(model.init(2));
  const both = await fit({ headEpochs: 2, bodyEpochs: 1 }, input);
  const headOnly = await fit({ headEpochs: 2, bodyEpochs: 0 }, input);
  const bodyOnly = await fit({ headEpochs: 0, bodyEpochs: 1 }, input);
  // The final head is the head phase's, exactly: the body phase froze it.
  assert.deepEqual(gatherTensors(spec, both.trained, head), gatherTensors(spec, headOnly.trained, head));
  // The body was trained against the already-trained head, so it differs from a body-first run.
  assert.ok(changed(gatherTensors(spec, both.trained, body), gatherTensors(spec, bodyOnly.trained, body)));
  assert.equal(both.steps, 15);
  assert.ok(Number.isFinite(both.loss) && both.loss > 0);
});

test('training starts from the stored personal head, not θ_g’s', async () => {
  const global = model.init(2);
  const ownHead = gatherTensors(spec, model.init(50), head);
  const withState = await fit({ headEpochs: 0, bodyEpochs: 1 }, fitInput(global, { [PERSONAL_STATE]: ownHead }));
  assert.deepEqual(gatherTensors(spec, withState.trained, head), ownHead, 'a frozen stored head comes back as it was');
  const without = await fit({ headEpochs: 0, bodyEpochs: 1 }, fitInput(global));
  assert.ok(changed(withState.trained, without.trained));
});

test('aggregation averages the body only; θ_g’s head never changes', () => {
  const hooks = fedrep.create(env, fedRepOptionsSchema.parse({}));
  const previous = model.init(1);
  const agg = hooks.createAggregator(previous, 0);
  const size = subSpec(spec, hooks.shared).size;
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array(size).fill(1) });
  agg.add({ clientId: 1, numSamples: 3, values: new Float32Array(size).fill(3) });
  const next = agg.finish();
  assert.deepEqual(gatherTensors(spec, next, head), gatherTensors(spec, previous, head));
  assert.ok(gatherTensors(spec, next, body).every((v) => v === 2.5));
});

test('evaluation: global body with the client’s personal head', async () => {
  const hooks = fedrep.create(env, fedRepOptionsSchema.parse({}));
  const global = model.init(2);
  const state = { [PERSONAL_STATE]: gatherTensors(spec, model.init(99), head) };
  const r = await hooks.evaluate({ clientId: 0, round: 1, global, state, train: data, test: data, seed: 1 });
  assert.deepEqual(r.personalized, await evaluate(model, withPersonal(spec, global, head, state), data));
  assert.notDeepEqual(r.personalized, await evaluate(model, global, data));
  assert.equal(r['global'], undefined);
});

test('fit releases every tensor it allocates', async () => {
  const input = fitInput(model.init(2));
  await fit({ headEpochs: 1, bodyEpochs: 1 }, input); // warm-up: backend-level caches
  const before = tf.memory().numTensors;
  await fit({ headEpochs: 2, bodyEpochs: 1 }, input);
  assert.equal(tf.memory().numTensors, before);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { sgdFit } from '../../src/algorithms/base.js';
import { DITTO_PERSONAL_STATE, ditto, dittoOptionsSchema, type DittoOptions } from '../../src/algorithms/ditto.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import { derivedSeed } from '../../src/algorithms/sampling.js';
import type { AlgorithmEnv, ClientState, FitInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { subSpec } from '../../src/params/spec.js';
import { evaluate } from '../../src/train/evaluate.js';
import { trainLocal } from '../../src/train/sgd.js';
import type { SgdOptions } from '../../src/train/types.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const spec = model.spec;
const dataset = syntheticDataset({ seed: 4, numSamples: 80, numClasses: 3, featureShape: [8] });
const data = clientData(dataset, Array.from({ length: 80 }, (_, i) => i));

function envWith(sgd: SgdOptions, epochs = 2): AlgorithmEnv {
  return { model, numClients: 2, seed: 1, train: { sgd, batchSize: 16, epochs }, finetune: { epochs: 1, sgd } };
}
const env = envWith({ lr: 0.05, momentum: 0.5, weightDecay: 0 });

function fitInput(global: Float32Array, state?: ClientState): FitInput {
  return { clientId: 1, round: 2, global, start: global, state, instruction: undefined, train: data, seed: 23 };
}

const fit = (e: AlgorithmEnv, options: Partial<DittoOptions>, input: FitInput) =>
  ditto.create(e, dittoOptionsSchema.parse(options)).fit(input);

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

const personalOf = (state: ClientState | undefined): Float32Array => {
  const v = state?.[DITTO_PERSONAL_STATE];
  assert.ok(v, `fit stores '${DITTO_PERSONAL_STATE}'`);
  return v;
};

test('options and declaration: λ = 1 by default, nothing of θ_g is personal', () => {
  assert.equal(algorithmByName('ditto'), ditto);
  assert.deepEqual(dittoOptionsSchema.parse({}), { lambda: 1 });
  assert.equal(dittoOptionsSchema.safeParse({ lambda: -1 }).success, false);
  assert.equal(dittoOptionsSchema.safeParse({ mu: 1 }).success, false);
  const hooks = ditto.create(env, dittoOptionsSchema.parse({}));
  assert.equal(spec.tensors.filter(hooks.personal).length, 0);
  assert.equal(subSpec(spec, hooks.shared).size, spec.size);
  assert.equal(hooks.hasGlobalModel, true);
});

test('a λ that makes the proximal step diverge is refused with the bound', () => {
  assert.throws(
    () => ditto.create(envWith({ lr: 0.1, momentum: 0, weightDecay: 0 }), { lambda: 20 }),
    /ditto: lambda=20 with train.lr=0.1 .* lower algorithm.lambda below 20/,
  );
});

test('the uploaded global copy is exactly FedAvg’s local update from θ_g', async () => {
  const global = model.init(2);
  const stored = model.init(7);
  const r = await fit(env, { lambda: 1 }, fitInput(global, { [DITTO_PERSONAL_STATE]: stored }));
  const fedavg = await sgdFit(env, fitInput(global));
  assert.deepEqual(r.trained, fedavg.trained);
  assert.equal(r.loss, fedavg.loss);
  assert.equal(r.steps, 2 * fedavg.steps, 'steps count both passes');
});

test('λ = 0: the personal model is plain local training of the stored v_i', async () => {
  const global = model.init(2);
  const stored = model.init(7);
  const input = fitInput(global, { [DITTO_PERSONAL_STATE]: stored });
  const r = await fit(env, { lambda: 0 }, input);
  const local = await trainLocal(model, stored, data, { ...env.train, seed: derivedSeed(input.seed, 'ditto', 'personal') });
  assert.deepEqual(personalOf(r.state), local.params);
  // Without stored state, v_i starts from θ_g.
  const first = await fit(env, { lambda: 0 }, fitInput(global));
  const fromGlobal = await trainLocal(model, global, data, { ...env.train, seed: derivedSeed(input.seed, 'ditto', 'personal') });
  assert.deepEqual(personalOf(first.state), fromGlobal.params);
});

test('a huge λ keeps v_i at θ_g, even from a far-away stored v_i', async () => {
  // lr·λ = 1 without momentum: every step lands at θ_g − lr·∇CE (one step away at most), while
  // free training drifts over all 10 steps.
  const e = envWith({ lr: 0.05, momentum: 0, weightDecay: 0 });
  const global = model.init(2);
  const stored = model.init(7);
  const free = personalOf((await fit(e, { lambda: 0 }, fitInput(global))).state);
  const pulled = personalOf((await fit(e, { lambda: 20 }, fitInput(global))).state);
  const fromFar = personalOf((await fit(e, { lambda: 20 }, fitInput(global, { [DITTO_PERSONAL_STATE]: stored }))).state);
  const freeDistance = distance(free, global);
  assert.ok(freeDistance > 0.05, `local training moves v_i (${freeDistance})`);
  assert.ok(distance(pulled, global) < 0.2 * freeDistance, `λ=20 keeps v_i near θ_g: ${distance(pulled, global)} vs ${freeDistance}`);
  assert.ok(distance(stored, global) > 10 * freeDistance);
  assert.ok(distance(fromFar, global) < 0.2 * freeDistance, `λ=20 pulls a far v_i back: ${distance(fromFar, global)}`);
  // A moderate λ lands in between.
  const moderate = personalOf((await fit(e, { lambda: 1 }, fitInput(global))).state);
  assert.ok(distance(pulled, global) < distance(moderate, global) && distance(moderate, global) < freeDistance);
});

test('personalEpochs sets the personal pass’s length only', async () => {
  const global = model.init(2);
  const r = await fit(env, { lambda: 1, personalEpochs: 1 }, fitInput(global));
  const fedavg = await sgdFit(env, fitInput(global));
  assert.equal(r.steps, fedavg.steps + fedavg.steps / 2);
  assert.deepEqual(r.trained, fedavg.trained);
});

test('evaluation: v_i as personalized, θ_g as global; θ_g for a client that never trained', async () => {
  const hooks = ditto.create(env, dittoOptionsSchema.parse({}));
  const global = model.init(2);
  const v = model.init(9);
  const r = await hooks.evaluate({ clientId: 0, round: 1, global, state: { [DITTO_PERSONAL_STATE]: v }, train: data, test: data, seed: 1 });
  assert.deepEqual(r.personalized, await evaluate(model, v, data));
  assert.deepEqual(r['global'], await evaluate(model, global, data));
  const fresh = await hooks.evaluate({ clientId: 0, round: 1, global, state: undefined, train: data, test: data, seed: 1 });
  assert.deepEqual(fresh.personalized, r['global']);
  await assert.rejects(
    hooks.evaluate({ clientId: 0, round: 1, global, state: { [DITTO_PERSONAL_STATE]: new Float32Array(3) }, train: data, test: data, seed: 1 }),
    /ditto: client state 'ditto.v' has 3 values/,
  );
});

test('fit releases every tensor it allocates', async () => {
  const input = fitInput(model.init(2), { [DITTO_PERSONAL_STATE]: model.init(7) });
  await fit(env, { lambda: 1 }, input);
  const before = tf.memory().numTensors;
  await fit(env, { lambda: 1 }, input);
  await fit(env, { lambda: 0 }, input);
  assert.equal(tf.memory().numTensors, before);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  APFL_ALPHA_STATE,
  APFL_PERSONAL_STATE,
  apfl,
  apflOptionsSchema,
  mixParams,
  type ApflOptions,
} from '../../src/algorithms/apfl.js';
import { sgdFit } from '../../src/algorithms/base.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { AlgorithmEnv, ClientState, FitInput, FitResult } from '../../src/algorithms/types.js';
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

function envWith(sgd: SgdOptions, batchSize = 16, epochs = 1): AlgorithmEnv {
  return { model, numClients: 2, seed: 1, train: { sgd, batchSize, epochs }, finetune: { epochs: 1, sgd } };
}
const env = envWith({ lr: 0.05, momentum: 0.5, weightDecay: 0 });
/** w and v frozen (lr 0), so only α moves; one batch holding every sample, so one α step. */
const frozenOneBatch = envWith({ lr: 0, momentum: 0, weightDecay: 0 }, 80);

function fitInput(global: Float32Array, state?: ClientState): FitInput {
  return { clientId: 1, round: 2, global, start: global, state, instruction: undefined, train: data, seed: 29 };
}
const stateOf = (v: Float32Array, alpha: number): ClientState => ({
  [APFL_PERSONAL_STATE]: v,
  [APFL_ALPHA_STATE]: Float32Array.of(alpha),
});

const fit = (e: AlgorithmEnv, options: Partial<ApflOptions>, input: FitInput) =>
  apfl.create(e, apflOptionsSchema.parse(options)).fit(input);

function alphaOf(r: FitResult): number {
  const a = r.state?.[APFL_ALPHA_STATE];
  assert.ok(a && a.length === 1, `fit stores '${APFL_ALPHA_STATE}'`);
  return a[0]!;
}
function personalOf(r: FitResult): Float32Array {
  const v = r.state?.[APFL_PERSONAL_STATE];
  assert.ok(v, `fit stores '${APFL_PERSONAL_STATE}'`);
  return v;
}

/** Mean cross-entropy of the mixture α·v + (1 − α)·w over the client's data. */
async function mixtureLoss(v: Float32Array, w: Float32Array, alpha: number): Promise<number> {
  const r = await evaluate(model, mixParams(v, w, alpha), data);
  return r.lossSum / r.total;
}

let good: Float32Array;
before(async () => {
  await useCpuBackend();
  // A model fitted to this client's data, from θ_g = init(2): the mixture's loss falls towards it.
  good = (await trainLocal(model, model.init(2), data, { sgd: { lr: 0.1, momentum: 0.5, weightDecay: 0 }, batchSize: 16, epochs: 8, seed: 3 })).params;
});

test('options and declaration: α starts at 0.5, nothing of θ_g is personal', () => {
  assert.equal(algorithmByName('apfl'), apfl);
  assert.deepEqual(apflOptionsSchema.parse({}), { alpha: 0.5 });
  assert.equal(apflOptionsSchema.safeParse({ alpha: 1.5 }).success, false);
  assert.equal(apflOptionsSchema.safeParse({ alphaLr: -1 }).success, false);
  assert.equal(apflOptionsSchema.safeParse({ lambda: 1 }).success, false);
  const hooks = apfl.create(env, apflOptionsSchema.parse({}));
  assert.equal(spec.tensors.filter(hooks.personal).length, 0);
  assert.equal(subSpec(spec, hooks.shared).size, spec.size);
  assert.equal(hooks.hasGlobalModel, true);
});

test('the uploaded w is exactly FedAvg’s local update from θ_g', async () => {
  const global = model.init(2);
  const r = await fit(env, {}, fitInput(global, stateOf(model.init(7), 0.3)));
  const fedavg = await sgdFit(env, fitInput(global));
  assert.deepEqual(r.trained, fedavg.trained);
  assert.equal(r.loss, fedavg.loss);
  assert.equal(r.steps, fedavg.steps);
});

test('α moves against the mixture loss’s gradient: towards a good v, away from a bad one', async () => {
  const bad = model.init(2);
  // v good, w bad ⇒ α grows and the mixture's loss drops.
  const up = await fit(frozenOneBatch, { alphaLr: 0.5 }, fitInput(bad, stateOf(good, 0.5)));
  assert.ok(alphaOf(up) > 0.5, `α rose: ${alphaOf(up)}`);
  assert.ok((await mixtureLoss(good, bad, alphaOf(up))) < (await mixtureLoss(good, bad, 0.5)));
  // v bad, w good ⇒ α shrinks.
  const down = await fit(frozenOneBatch, { alphaLr: 0.5 }, fitInput(good, stateOf(bad, 0.5)));
  assert.ok(alphaOf(down) < 0.5, `α fell: ${alphaOf(down)}`);
  assert.ok((await mixtureLoss(bad, good, alphaOf(down))) < (await mixtureLoss(bad, good, 0.5)));
  // w and v themselves did not move (lr 0).
  assert.deepEqual(up.trained, bad);
  assert.deepEqual(personalOf(up), good);
});

test('one α step is α − lr_α·dL/dα (checked against a finite difference of the mixture loss)', async () => {
  const w = model.init(2);
  const alpha0 = 0.4;
  const lrAlpha = 0.2;
  const r = await fit(frozenOneBatch, { alphaLr: lrAlpha }, fitInput(w, stateOf(good, alpha0)));
  assert.equal(r.steps, 1);
  const h = 1e-2;
  const slope = ((await mixtureLoss(good, w, alpha0 + h)) - (await mixtureLoss(good, w, alpha0 - h))) / (2 * h);
  const expected = alpha0 - lrAlpha * slope;
  assert.ok(Math.abs(alphaOf(r) - expected) < 2e-3 * Math.max(1, Math.abs(lrAlpha * slope)), `α ${alphaOf(r)} vs ${expected}`);
});

test('α is clipped to [0, 1] however large its step', async () => {
  const bad = model.init(2);
  const up = await fit(envWith({ lr: 0.05, momentum: 0.5, weightDecay: 0 }), { alphaLr: 1000 }, fitInput(bad, stateOf(good, 0.5)));
  assert.equal(alphaOf(up), 1);
  const down = await fit(envWith({ lr: 0.05, momentum: 0.5, weightDecay: 0 }), { alphaLr: 1000 }, fitInput(good, stateOf(bad, 0.5)));
  assert.equal(alphaOf(down), 0);
  for (const r of [up, down]) assert.ok(personalOf(r).every(Number.isFinite));
});

test('v’s gradient is α·∇f at the mixture', async () => {
  const e = envWith({ lr: 0.05, momentum: 0.5, weightDecay: 0 });
  const global = model.init(2);
  const v0 = model.init(7);
  // α = 1 (fixed): the mixture is v, so v trains exactly like local training of v.
  const one = await fit(e, { alphaLr: 0 }, fitInput(global, stateOf(v0, 1)));
  assert.deepEqual(personalOf(one), (await trainLocal(model, v0, data, { ...e.train, seed: 29 })).params);
  assert.equal(alphaOf(one), 1);
  // α = 0 (fixed): the mixture is w, v gets a zero gradient and stays put.
  const zero = await fit(e, { alphaLr: 0 }, fitInput(global, stateOf(v0, 0)));
  assert.deepEqual(personalOf(zero), v0);
  // α = 0.5, v = w, one plain SGD step: m = w, so v moves exactly half as far as w.
  const single = envWith({ lr: 0.05, momentum: 0, weightDecay: 0 }, 80);
  const half = await fit(single, { alphaLr: 0 }, fitInput(global));
  const v = personalOf(half);
  for (let i = 0; i < spec.size; i += 97) {
    const expected = global[i]! + 0.5 * (half.trained[i]! - global[i]!);
    assert.ok(Math.abs(v[i]! - expected) < 1e-6, `v[${i}] = ${v[i]}, expected ${expected}`);
  }
});

test('a first participation starts from v = θ_g and the initial α; later ones from the stored state', async () => {
  const global = model.init(2);
  const first = await fit(env, { alpha: 0.7, alphaLr: 0 }, fitInput(global));
  assert.equal(alphaOf(first), Math.fround(0.7));
  const second = await fit(env, { alpha: 0.7, alphaLr: 0 }, fitInput(global, first.state));
  assert.notDeepEqual(personalOf(second), personalOf(first), 'v_i kept training from its stored value');
  const restarted = await fit(env, { alpha: 0.7, alphaLr: 0 }, fitInput(global, stateOf(personalOf(first), 0.2)));
  assert.equal(alphaOf(restarted), Math.fround(0.2), 'the stored α wins over the initial one');
  await assert.rejects(fit(env, {}, fitInput(global, stateOf(global, 1.5))), /apfl: client state 'apfl.alpha' must hold one value in \[0, 1\]/);
  await assert.rejects(
    fit(env, {}, fitInput(global, { [APFL_PERSONAL_STATE]: new Float32Array(4) })),
    /apfl: client state 'apfl.v' has 4 values/,
  );
});

test('evaluation: the mixture α·v + (1 − α)·θ_g as personalized, θ_g as global', async () => {
  const hooks = apfl.create(env, apflOptionsSchema.parse({}));
  const global = model.init(2);
  const r = await hooks.evaluate({ clientId: 0, round: 1, global, state: stateOf(good, 0.8), train: data, test: data, seed: 1 });
  assert.deepEqual(r.personalized, await evaluate(model, mixParams(good, global, Math.fround(0.8)), data));
  assert.deepEqual(r['global'], await evaluate(model, global, data));
  assert.ok(r.personalized.correct > r['global']!.correct, 'the mixture leans on the fitted v');
  const fresh = await hooks.evaluate({ clientId: 0, round: 1, global, state: undefined, train: data, test: data, seed: 1 });
  assert.deepEqual(fresh.personalized, fresh['global'], 'v = θ_g before any training');
});

test('fit releases every tensor it allocates', async () => {
  const input = fitInput(model.init(2), stateOf(model.init(7), 0.5));
  await fit(env, {}, input);
  const before = tf.memory().numTensors;
  await fit(env, {}, input);
  await fit(env, { alphaLr: 1000 }, input);
  assert.equal(tf.memory().numTensors, before);
});

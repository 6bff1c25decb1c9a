import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fedavg } from '../../src/algorithms/fedavg.js';
import { fedprox } from '../../src/algorithms/fedprox.js';
import type { AlgorithmEnv, FitInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const dataset = syntheticDataset({ seed: 2, numSamples: 96, numClasses: 3, featureShape: [8] });
const train = clientData(dataset, Array.from({ length: 96 }, (_, i) => i));
const envWith = (momentum: number, batchSize: number, epochs: number): AlgorithmEnv => {
  const sgd = { lr: 0.05, momentum, weightDecay: 0 };
  return { model, numClients: 1, seed: 1, train: { sgd, batchSize, epochs }, finetune: { epochs: 1, sgd } };
};
const create = (env: AlgorithmEnv, mu: number) => fedprox.create(env, fedprox.options.parse({ mu }));

function input(global: Float32Array, start: Float32Array = global): FitInput {
  return { clientId: 0, round: 0, global, start, state: undefined, instruction: undefined, train, seed: 5 };
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

test('options: μ defaults to 0.01; negative, non-finite and unknown fields are refused', () => {
  assert.deepEqual(fedprox.options.parse({}), { mu: 0.01 });
  for (const bad of [{ mu: -1 }, { mu: Infinity }, { mu: '0.1' }, { lambda: 1 }]) {
    assert.equal(fedprox.options.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('μ = 0 is FedAvg exactly (same trained bytes); μ > 0 is not', async () => {
  const env = envWith(0.5, 16, 2);
  const global = model.init(1);
  const avg = await fedavg.create(env, {}).fit(input(global));
  const prox0 = await create(env, 0).fit(input(global));
  assert.deepEqual(prox0.trained, avg.trained);
  assert.equal(prox0.loss, avg.loss);
  const prox = await create(env, 0.5).fit(input(global));
  assert.notDeepEqual(prox.trained, avg.trained);
});

test('the proximal gradient is μ(θ − θ_g): one full-batch step, hand-computed difference from FedAvg', async () => {
  // One plain-SGD step from start ≠ θ_g: θ_prox − θ_avg = −lr·μ·(start − θ_g) element-wise.
  const env = envWith(0, 96, 1);
  const global = model.init(2);
  const start = global.map((v, i) => v + (i % 2 === 0 ? 0.1 : -0.2));
  const mu = 3;
  const avg = await fedavg.create(env, {}).fit(input(global, start));
  const prox = await create(env, mu).fit(input(global, start));
  assert.equal(prox.steps, 1);
  let worst = 0;
  for (let i = 0; i < start.length; i++) {
    const expected = -0.05 * mu * (start[i]! - global[i]!);
    worst = Math.max(worst, Math.abs(prox.trained[i]! - avg.trained[i]! - expected));
  }
  assert.ok(worst < 1e-6, `largest deviation from −lr·μ·(θ − θ_g): ${worst}`);
});

test('a huge μ keeps the trained model near θ_g; μ = 0 moves far', async () => {
  const env = envWith(0.5, 16, 3);
  const global = model.init(3);
  const free = distance((await create(env, 0).fit(input(global))).trained, global);
  // lr·μ = 1 (stable with momentum 0.5): each step pulls θ almost all the way back to θ_g.
  const tied = distance((await create(env, 20).fit(input(global))).trained, global);
  assert.ok(free > 0.5, `FedAvg moved ${free}`);
  assert.ok(tied < free / 5, `μ=20 moved ${tied}, μ=0 moved ${free}`);
});

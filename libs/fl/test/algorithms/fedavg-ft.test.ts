import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fedavg } from '../../src/algorithms/fedavg.js';
import { fedavgFt } from '../../src/algorithms/fedavg-ft.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { AlgorithmEnv, EvalInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { trainLocal } from '../../src/train/sgd.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const dataset = syntheticDataset({ seed: 8, numSamples: 120, numClasses: 3, featureShape: [8] });
const rows = (from: number, to: number) => clientData(dataset, Array.from({ length: to - from }, (_, i) => from + i));
const sgd = { lr: 0.1, momentum: 0.5, weightDecay: 0 };
const env: AlgorithmEnv = {
  model,
  numClients: 2,
  seed: 1,
  train: { sgd, batchSize: 16, epochs: 1 },
  finetune: { epochs: 3, sgd: { ...sgd, lr: 0.05 } },
};

test('registered as fedavg-ft; trains, uploads and aggregates exactly like FedAvg', async () => {
  assert.equal(algorithmByName('fedavg-ft'), fedavgFt);
  const ft = fedavgFt.create(env, {});
  const avg = fedavg.create(env, {});
  assert.deepEqual(model.spec.tensors.map(ft.shared), model.spec.tensors.map(avg.shared));
  assert.deepEqual(model.spec.tensors.map(ft.personal), model.spec.tensors.map(avg.personal));
  const global = model.init(2);
  const input = { clientId: 0, round: 0, global, start: global, state: undefined, instruction: undefined, train: rows(0, 80), seed: 4 };
  assert.deepEqual((await ft.fit(input)).trained, (await avg.fit(input)).trained);
});

test('evaluate: before = global = θ_g; after = personalized = θ_g fine-tuned with the finetune settings', async () => {
  const global = model.init(3);
  const input: EvalInput = { clientId: 1, round: 2, global, state: undefined, train: rows(0, 80), test: rows(80, 120), seed: 12 };
  const r = await fedavgFt.create(env, {}).evaluate(input);
  const plain = await evaluate(model, global, input.test);
  assert.deepEqual(r.before, plain);
  assert.deepEqual(r.global, plain);
  // Independently: fine-tune with the env's finetune epochs/lr on the client's train split and seed.
  const tuned = await trainLocal(model, global, input.train, { sgd: env.finetune.sgd, batchSize: 16, epochs: 3, seed: 12 });
  const after = await evaluate(model, tuned.params, input.test);
  assert.deepEqual(r.after, after);
  assert.deepEqual(r.personalized, after);
  assert.notDeepEqual(after, plain);
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { AlgorithmEnv, AlgorithmHooks } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { localSamples } from '../../src/system/duration.js';
import { trainingBatches } from '../../src/train/batches.js';
import type { BatchPlan } from '../../src/train/batches.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

// 37 samples in batches of 8: four full batches and a short one of 5 per epoch.
const N = 37;
const model = createModel('mlp', { inputShape: [6], numClasses: 3 });
const data = clientData(syntheticDataset({ seed: 3, numSamples: N, numClasses: 3, featureShape: [6] }), Array.from({ length: N }, (_, i) => i));
const sgd = { lr: 0.05, momentum: 0, weightDecay: 0 };
const env: AlgorithmEnv = { model, numClients: 2, seed: 1, train: { sgd, batchSize: 8, epochs: 2 }, finetune: { epochs: 3, sgd } };

const hooksOf = (name: string, options: unknown = {}, e: AlgorithmEnv = env): AlgorithmHooks => {
  const algorithm = algorithmByName(name);
  return algorithm.create(e, algorithm.options.parse(options));
};

/** Samples and batches the real batch generator yields for each of a fit's passes. */
function generated(passes: readonly Omit<BatchPlan, 'n' | 'seed'>[]): { samples: number; batches: number } {
  let samples = 0;
  let batches = 0;
  for (const pass of passes) {
    for (const b of trainingBatches({ n: N, seed: 9, ...pass })) {
      samples += b.length;
      batches++;
    }
  }
  return { samples, batches };
}

/** The hook's count equals the generator's, and the real fit runs exactly those batches. */
async function assertWork(hooks: AlgorithmHooks, passes: readonly Omit<BatchPlan, 'n' | 'seed'>[]): Promise<void> {
  const expected = generated(passes);
  assert.ok(hooks.localWorkSamples, 'the algorithm declares its local work');
  assert.equal(hooks.localWorkSamples(N), expected.samples);
  const global = model.init(2);
  const start = hooks.startModel?.({ clientId: 0, round: 0, global, state: undefined, instruction: undefined }) ?? global;
  const fit = await hooks.fit({ clientId: 0, round: 0, global, start, state: undefined, instruction: undefined, train: data, seed: 5 });
  assert.equal(fit.steps, expected.batches, 'fit runs the batches the count is made of');
}

const plain = { batchSize: 8, epochs: 2 };

test('Ditto: the global copy and the personal model each take their passes (personalEpochs included)', async () => {
  await assertWork(hooksOf('ditto'), [plain, plain]);
  await assertWork(hooksOf('ditto', { personalEpochs: 5 }), [plain, { batchSize: 8, epochs: 5 }]);
  // 2 + 5 epochs of 37 samples
  assert.equal(hooksOf('ditto', { personalEpochs: 5 }).localWorkSamples!(N), 7 * 37);
});

test('FedRep: head epochs then body epochs, whatever the experiment epochs say', async () => {
  await assertWork(hooksOf('fedrep', { headEpochs: 3, bodyEpochs: 1 }), [{ batchSize: 8, epochs: 3 }, { batchSize: 8, epochs: 1 }]);
  // the defaults: 10 head epochs + 1 body epoch
  assert.equal(hooksOf('fedrep').localWorkSamples!(N), 11 * 37);
  // the last-batch rule is the experiment's
  const dropLast = { ...env, train: { ...env.train, dropLast: true } };
  assert.equal(hooksOf('fedrep', { headEpochs: 3, bodyEpochs: 1 }, dropLast).localWorkSamples!(N), 4 * 32);
});

test('APFL: every batch takes a gradient of w and of the mixture, two passes per sample', async () => {
  const hooks = hooksOf('apfl');
  assert.equal(hooks.localWorkSamples!(N), 2 * generated([plain]).samples);
  const fit = await hooks.fit({ clientId: 0, round: 0, global: model.init(2), start: model.init(2), state: undefined, instruction: undefined, train: data, seed: 5 });
  assert.equal(fit.steps, generated([plain]).batches);
});

test("FIARSE and HeteroFL: their own batch size and iterations, not the experiment's", () => {
  const options = { batchSize: 5, iterations: 11 };
  for (const name of ['fiarse', 'heterofl']) {
    assert.equal(hooksOf(name, options).localWorkSamples!(N), generated([{ batchSize: 5, epochs: 1, iterations: 11 }]).samples, name);
    // one epoch of 8 batches (7 × 5 + 2 = 37 samples), then 3 full batches of the next
    assert.equal(hooksOf(name, options).localWorkSamples!(N), 37 + 15);
  }
});

test('one local training: the algorithms that declare nothing (fine-tuning is evaluation work, not the round)', async () => {
  for (const name of ['fedavg', 'fedprox', 'fedbabu', 'fedavg-ft', 'fedper', 'lgfedavg', 'local', 'fedobp']) {
    assert.equal(hooksOf(name).localWorkSamples, undefined, name);
  }
  assert.equal(localSamples(N, env.train), generated([plain]).samples);
});

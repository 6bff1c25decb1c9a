import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../../src/models/index.js';
import { evaluate, trainLocal } from '../../src/train/index.js';
import { fashionMnist } from './support/fashion-mnist.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

test('MLP on real Fashion-MNIST (cpu backend): training lowers the loss and lifts accuracy', async (t) => {
  const train = fashionMnist('train', 0, 2048);
  const held = fashionMnist('t10k', 0, 1000);
  const model = createModel('mlp', { inputShape: [28, 28, 1] });
  const start = model.init(42);
  const sgd = { lr: 0.01, momentum: 0.7, weightDecay: 0 }; // docs/specs/protocol.md's reference optimiser
  const tensorsBefore = tf.memory().numTensors;

  const initial = await evaluate(model, start, held);
  const t0 = performance.now();
  const first = await trainLocal(model, start, train, { sgd, batchSize: 32, epochs: 1, seed: 1 });
  const seconds = (performance.now() - t0) / 1000;
  const second = await trainLocal(model, first.params, train, { sgd, batchSize: 32, epochs: 1, seed: 2 });
  const trained = await evaluate(model, second.params, held);

  t.diagnostic(`mlp/${tf.getBackend()}: ${(first.samplesSeen / seconds).toFixed(0)} samples/s training`);
  t.diagnostic(`held-out accuracy ${initial.correct / 10}% → ${trained.correct / 10}%; train loss ${first.loss.toFixed(3)} → ${second.loss.toFixed(3)}`);
  assert.equal(first.steps, 64);
  assert.ok(second.loss < first.loss, `second epoch's loss ${second.loss} is not below the first's ${first.loss}`);
  assert.ok(trained.lossSum < 0.5 * initial.lossSum, `held-out loss ${initial.lossSum} → ${trained.lossSum}`);
  assert.ok(trained.correct > 600, `held-out accuracy ${trained.correct / 10}% after two epochs`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '../../src/compute/index.js';
import { createModel } from '../../src/models/index.js';
import { evaluate, trainLocal } from '../../src/train/index.js';
import { fashionMnist } from './support/fashion-mnist.js';

before(async () => {
  await initCompute({ prefer: 'wasm', log: () => {} });
});

test('FedAvgCNN on real Fashion-MNIST (wasm backend): learns, deterministic, no leaks', async (t) => {
  assert.equal(tf.getBackend(), 'wasm');
  const train = fashionMnist('train', 0, 1024);
  const held = fashionMnist('t10k', 0, 1000);
  const model = createModel('fedavgcnn');
  const start = model.init(42);
  const opts = { sgd: { lr: 0.01, momentum: 0.7, weightDecay: 0 }, batchSize: 32, epochs: 1, seed: 1 };
  const initial = await evaluate(model, start, held);
  const tensorsBefore = tf.memory().numTensors;

  const t0 = performance.now();
  const a = await trainLocal(model, start, train, opts);
  const seconds = (performance.now() - t0) / 1000;
  const b = await trainLocal(model, start, train, opts);
  const trained = await evaluate(model, a.params, held);

  t.diagnostic(`fedavgcnn/wasm: ${(a.samplesSeen / seconds).toFixed(0)} samples/s training (first call, includes warm-up)`);
  t.diagnostic(`held-out accuracy ${initial.correct / 10}% → ${trained.correct / 10}%, train loss ${a.loss.toFixed(3)}`);
  assert.equal(a.steps, 32);
  assert.ok(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer)), 'two identical runs differ');
  assert.ok(trained.lossSum < 0.8 * initial.lossSum, `held-out loss ${initial.lossSum} → ${trained.lossSum}`);
  assert.ok(trained.correct > 350, `held-out accuracy ${trained.correct / 10}% after one epoch of 1024 samples`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { ClientData } from '../../src/data/types.js';
import { createModel } from '../../src/models/index.js';
import { evaluate } from '../../src/train/index.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('logreg', { inputShape: [2], numClasses: 2 });
// W = identity, b = 0: logits are the features themselves
const params = Float32Array.from([1, 0, 0, 1, 0, 0]);
const data: ClientData = {
  x: Float32Array.from([2, 0, 0, 1, 3, 1, 0, 0, 1, 2]),
  y: Int32Array.from([0, 1, 1, 0, 0]),
  n: 5,
  featureShape: [2],
};

function expected(): { correct: number; lossSum: number } {
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < data.n; i++) {
    const z = [data.x[2 * i]!, data.x[2 * i + 1]!];
    const lse = Math.log(Math.exp(z[0]!) + Math.exp(z[1]!));
    lossSum += lse - z[data.y[i]!]!;
    // argmax takes the first of equal logits (sample 3: [0, 0] → class 0)
    const pred = z[1]! > z[0]! ? 1 : 0;
    if (pred === data.y[i]) correct++;
  }
  return { correct, lossSum };
}

test('evaluate counts correct predictions and sums the cross-entropy', async () => {
  const want = expected();
  for (const batchSize of [1, 2, 256]) {
    const r = await evaluate(model, params, data, batchSize);
    assert.equal(r.total, 5);
    assert.equal(r.correct, want.correct, `batch ${batchSize}`);
    assert.ok(Math.abs(r.lossSum - want.lossSum) < 1e-5, `batch ${batchSize}: ${r.lossSum} vs ${want.lossSum}`);
  }
});

test('evaluate: empty data, no leaks, bad input', async () => {
  assert.deepEqual(await evaluate(model, params, { ...data, x: new Float32Array(0), y: new Int32Array(0), n: 0 }), {
    correct: 0,
    total: 0,
    lossSum: 0,
  });
  await evaluate(model, params, data);
  const before = tf.memory().numTensors;
  await evaluate(model, params, data, 2);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(evaluate(model, params.subarray(1), data), /params has 5 values/);
  await assert.rejects(evaluate(model, params, data, 0), /batchSize/);
  await assert.rejects(evaluate(model, params, { ...data, n: 4 }), /data\.x has 10 values/);
});

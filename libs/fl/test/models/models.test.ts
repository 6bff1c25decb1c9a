import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, modelNames, modelNameSchema } from '../../src/models/index.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

test('fedavgcnn has exactly 582,026 parameters in the documented layout', () => {
  const m = createModel('fedavgcnn');
  assert.equal(m.spec.size, 582_026);
  assert.deepEqual(m.inputShape, [28, 28, 1]);
  assert.equal(m.numClasses, 10);
  const rows = m.spec.tensors.map((t) => [t.name, t.layerType, t.kind, t.shape, t.offset, t.length, t.role, t.fanIn]);
  assert.deepEqual(rows, [
    ['conv1.weight', 'conv2d', 'weight', [5, 5, 1, 32], 0, 800, 'body', 25],
    ['conv1.bias', 'conv2d', 'bias', [32], 800, 32, 'body', 25],
    ['conv2.weight', 'conv2d', 'weight', [5, 5, 32, 64], 832, 51_200, 'body', 800],
    ['conv2.bias', 'conv2d', 'bias', [64], 52_032, 64, 'body', 800],
    ['fc1.weight', 'dense', 'weight', [1024, 512], 52_096, 524_288, 'body', 1024],
    ['fc1.bias', 'dense', 'bias', [512], 576_384, 512, 'body', 1024],
    ['classifier.weight', 'dense', 'weight', [512, 10], 576_896, 5_120, 'head', 512],
    ['classifier.bias', 'dense', 'bias', [10], 582_016, 10, 'head', 512],
  ]);
});

test('mlp is 784→200→200→10 with the last layer as head', () => {
  const m = createModel('mlp');
  assert.equal(m.spec.size, 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
  assert.deepEqual(
    m.spec.tensors.map((t) => [t.name, t.shape, t.role]),
    [
      ['fc1.weight', [784, 200], 'body'],
      ['fc1.bias', [200], 'body'],
      ['fc2.weight', [200, 200], 'body'],
      ['fc2.bias', [200], 'body'],
      ['classifier.weight', [200, 10], 'head'],
      ['classifier.bias', [10], 'head'],
    ],
  );
});

test('logreg is a single classifier layer: all head, empty body', () => {
  const m = createModel('logreg', { inputShape: [20], numClasses: 3 });
  assert.deepEqual(
    m.spec.tensors.map((t) => [t.name, t.shape, t.role, t.fanIn]),
    [
      ['classifier.weight', [20, 3], 'head', 20],
      ['classifier.bias', [3], 'head', 20],
    ],
  );
  assert.equal(m.spec.tensors.filter((t) => t.role === 'body').length, 0);
});

test('fedavgcnn adapts its flatten size to other inputs (e.g. 32×32×3)', () => {
  const m = createModel('fedavgcnn', { inputShape: [32, 32, 3], numClasses: 100 });
  const fc1 = m.spec.tensors.find((t) => t.name === 'fc1.weight');
  assert.deepEqual(fc1?.shape, [5 * 5 * 64, 512]);
  assert.equal(m.spec.tensors.find((t) => t.name === 'conv1.weight')?.fanIn, 75);
  assert.deepEqual(m.spec.tensors.at(-1)?.shape, [100]);
});

test('bad names and options fail with a message naming the problem', () => {
  assert.throws(() => createModel('resnet' as never), /unknown model 'resnet'.*fedavgcnn, mlp, logreg/);
  assert.throws(() => createModel('fedavgcnn', { inputShape: [784] }), /inputShape must be \[height, width, channels\]/);
  assert.throws(() => createModel('fedavgcnn', { inputShape: [12, 12, 1] }), /too small/);
  assert.throws(() => createModel('mlp', { numClasses: 1 }), /numClasses/);
  assert.throws(() => createModel('mlp', { inputShape: [0] }), /inputShape/);
  assert.deepEqual(modelNames, ['fedavgcnn', 'mlp', 'logreg']);
  assert.equal(modelNameSchema.parse('mlp'), 'mlp');
  assert.equal(modelNameSchema.safeParse('cnn').success, false);
});

test('init: every element within ±1/√fan_in, mean ≈ 0, variance ≈ bound²/3', () => {
  const m = createModel('fedavgcnn');
  const p = m.init(42);
  for (const t of m.spec.tensors) {
    const bound = Math.fround(1 / Math.sqrt(t.fanIn));
    let sum = 0;
    let sq = 0;
    let maxAbs = 0;
    for (let i = t.offset; i < t.offset + t.length; i++) {
      const v = p[i]!;
      sum += v;
      sq += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    assert.ok(maxAbs <= bound, `${t.name}: max |w| ${maxAbs} exceeds 1/√${t.fanIn} = ${bound}`);
    if (t.length >= 5000) {
      const mean = sum / t.length;
      const variance = sq / t.length - mean * mean;
      const expectedVar = (bound * bound) / 3;
      // Standard errors: mean ≈ bound/√(3n), variance ≈ expectedVar·√(0.8/n); allow 5σ.
      assert.ok(Math.abs(mean) < (5 * bound) / Math.sqrt(3 * t.length), `${t.name}: mean ${mean}`);
      assert.ok(
        Math.abs(variance - expectedVar) < 5 * expectedVar * Math.sqrt(0.8 / t.length),
        `${t.name}: variance ${variance}, expected ${expectedVar}`,
      );
      // The bound is actually reached (a too-narrow init would pass the max test alone).
      assert.ok(maxAbs > 0.99 * bound, `${t.name}: max |w| ${maxAbs} is far below the bound ${bound}`);
    }
  }
});

test('init: same seed ⇒ same bytes, different seed ⇒ different values', () => {
  for (const name of modelNames) {
    const m = createModel(name);
    const a = m.init(7);
    const b = m.init(7);
    const c = m.init(8);
    assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer), `${name}: same seed`);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === c[i]) same++;
    assert.ok(same < a.length / 1000, `${name}: ${same} of ${a.length} elements equal across seeds`);
  }
});

test('init: a tensor’s values depend only on the seed and its name', () => {
  const a = createModel('mlp').init(3);
  const b = createModel('mlp', { numClasses: 5 }).init(3);
  const fc1 = 784 * 200;
  assert.deepEqual(Buffer.from(a.buffer, 0, fc1 * 4), Buffer.from(b.buffer, 0, fc1 * 4));
});

test('forward: logits of shape [B, classes] for every model, and no leaked tensors', () => {
  const cases = [
    { m: createModel('fedavgcnn'), x: [3, 28, 28, 1] },
    { m: createModel('mlp'), x: [5, 784] },
    { m: createModel('mlp', { inputShape: [28, 28, 1] }), x: [2, 28, 28, 1] },
    { m: createModel('logreg', { inputShape: [7], numClasses: 4 }), x: [6, 7] },
  ];
  for (const { m, x } of cases) {
    const params = m.init(1);
    const before = tf.memory().numTensors;
    const shape = tf.tidy(() => {
      const ws = m.spec.tensors.map((t) => tf.tensor(params.slice(t.offset, t.offset + t.length), [...t.shape]));
      const logits = m.forward(ws, tf.randomNormal(x, 0, 1, 'float32', 5));
      const values = logits.dataSync();
      assert.ok(values.every(Number.isFinite), `${m.name}: non-finite logits`);
      return logits.shape;
    });
    assert.deepEqual(shape, [x[0], m.numClasses]);
    assert.equal(tf.memory().numTensors, before, `${m.name}: forward leaked tensors`);
  }
});

test('forward matches a hand-computed dense layer (weights laid out [in, out])', () => {
  const m = createModel('logreg', { inputShape: [2], numClasses: 2 });
  const out = tf.tidy(() => {
    const w = tf.tensor([1, 2, 3, 4], [2, 2]); // w[in][out]
    const b = tf.tensor([0.5, -0.5], [2]);
    return Array.from(m.forward([w, b], tf.tensor([[1, 10]])).dataSync());
  });
  // z_o = Σ_i x_i w[i][o] + b_o
  assert.deepEqual(out, [1 * 1 + 10 * 3 + 0.5, 1 * 2 + 10 * 4 - 0.5]);
});

test('forward rejects wrongly shaped parameters or inputs with a clear message', () => {
  const m = createModel('logreg', { inputShape: [4], numClasses: 3 });
  tf.tidy(() => {
    const w = tf.zeros([4, 3]);
    const b = tf.zeros([3]);
    assert.throws(() => m.forward([w], tf.zeros([1, 4])), /got 1 parameter tensors, expected 2/);
    assert.throws(() => m.forward([tf.zeros([3, 4]), b], tf.zeros([1, 4])), /'classifier.weight' has shape \[3, 4\], expected \[4, 3\]/);
    assert.throws(() => m.forward([w, b], tf.zeros([1, 5])), /input has shape \[1, 5\], expected \[B, 4\]/);
  });
});

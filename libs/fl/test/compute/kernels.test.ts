import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { closeTo, compareWithCpu, randn } from './compare.js';

/**
 * Every kernel the compute module registers on wasm, forward and gradient, against the reference
 * cpu backend, for the shapes, strides and paddings the shipped models use plus odd batches.
 */

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  const info = await initCompute({ prefer: 'wasm', log: () => {} });
  assert.equal(info.backend, 'wasm');
});

const BATCHES = [1, 7, 32];

for (const [name, shape] of [['fedavgcnn pool1', [24, 24, 32]], ['fedavgcnn pool2', [8, 8, 64]], ['odd size', [7, 9, 3]]] as const) {
  for (const b of BATCHES) {
    test(`maxPool 2×2/2 forward and gradient match cpu: ${name}, batch ${b}`, async () => {
      const x = randn(4, [b, ...shape]);
      const outShape = [b, Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), shape[2]];
      const dy = randn(5, outShape);
      const problems = await compareWithCpu(`${name} b=${b}`, [x, dy], (xt, dyt) => {
        const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
        return [f(xt!), tf.grad(f)(xt!, dyt)];
      });
      assert.deepEqual(problems, []);
    });
  }
}

test('maxPool gradient with overlapping windows and same padding matches cpu', async () => {
  const x = randn(6, [3, 7, 7, 4]);
  const dy = randn(7, [3, 4, 4, 4]);
  const problems = await compareWithCpu('pool 3x3/2 same', [x, dy], (xt, dyt) =>
    tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'))(xt!, dyt),
  );
  assert.deepEqual(problems, []);
});

test('maxPool gradient routes ties to the first maximum of each window, as the cpu backend', async () => {
  // after a ReLU many windows are all zeros: the choice must still match the reference
  const x = { data: new Float32Array([0, 0, 0, 0, 1, 1, 0, 1, 2, 2, 2, 2, -1, -1, -1, -1]), shape: [1, 4, 4, 1] };
  const dy = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 2, 1] };
  const problems = await compareWithCpu('pool ties', [x, dy], (xt, dyt) =>
    tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'))(xt!, dyt),
  );
  assert.deepEqual(problems, []);
});

const DENSE: [string, number, number][] = [
  ['fedavgcnn fc1', 1024, 512],
  ['fedavgcnn classifier', 512, 10],
  ['mlp fc1', 784, 200],
  ['mlp fc2', 200, 200],
  ['mlp classifier', 200, 10],
];

for (const [name, inF, outF] of DENSE) {
  for (const b of BATCHES) {
    test(`dense forward and gradients match cpu: ${name}, batch ${b}`, async () => {
      const x = randn(8, [b, inF]);
      const w = randn(9, [inF, outF]);
      const bias = randn(10, [outF]);
      const dy = randn(11, [b, outF]);
      const problems = await compareWithCpu(`${name} b=${b}`, [x, w, bias, dy], (xt, wt, bt, dyt) => {
        const plain = (a: tf.Tensor, f: tf.Tensor) => tf.matMul(a as tf.Tensor2D, f as tf.Tensor2D);
        const fused = (a: tf.Tensor, f: tf.Tensor, bb: tf.Tensor) =>
          tf.fused.matMul({ a: a as tf.Tensor2D, b: f as tf.Tensor2D, bias: bb, activation: 'linear' });
        return [
          plain(xt!, wt!),
          ...tf.grads(plain)([xt!, wt!], dyt),
          fused(xt!, wt!, bt!),
          ...tf.grads(fused)([xt!, wt!, bt!], dyt),
        ];
      });
      assert.deepEqual(problems, []);
    });
  }
}

for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  test(`batchMatMul transposeA=${ta} transposeB=${tb} matches cpu, rank 2 and rank 3`, async () => {
    const [m, k, n] = [7, 33, 20];
    const a2 = randn(12, ta ? [k, m] : [m, k]);
    const b2 = randn(13, tb ? [n, k] : [k, n]);
    const a3 = randn(14, ta ? [3, k, m] : [3, m, k]);
    const b3 = randn(15, tb ? [3, n, k] : [3, k, n]);
    const big = randn(16, tb ? [300, k] : [k, 300]);
    const bias = randn(17, [n]);
    const problems = await compareWithCpu(`matmul ${ta}/${tb}`, [a2, b2, a3, b3, big, bias], (a, b, aa, bb, bg, bi) => [
      tf.matMul(a!, b!, ta, tb),
      tf.matMul(aa!, bb!, ta, tb),
      tf.matMul(a!, bg!, ta, tb),
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: bi, activation: 'relu' }),
    ]);
    assert.deepEqual(problems, []);
  });
}

test('the comparison detects a wrong result (the checks can fail)', () => {
  const want = new Float32Array([1, -2, 3, 1000]);
  assert.equal(closeTo(Float32Array.from(want), want, 'same'), undefined);
  const off = Float32Array.from(want);
  off[1] = -2.05;
  assert.match(closeTo(off, want, 'perturbed') ?? '', /element 1/);
});

test('wasm kernels are deterministic: the same inputs give the same bytes', async () => {
  const x = randn(20, [7, 12, 12, 32]);
  const w = randn(21, [5, 5, 32, 64]);
  const dy = randn(22, [7, 8, 8, 64]);
  const grads = (xt: tf.Tensor, wt: tf.Tensor, dyt: tf.Tensor) =>
    tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')), 2, 2, 'valid'))(
      [xt, wt],
      tf.slice(dyt, [0, 0, 0, 0], [7, 4, 4, 64]),
    );
  const once = async () => {
    const xt = tf.tensor(x.data, x.shape);
    const wt = tf.tensor(w.data, w.shape);
    const dyt = tf.tensor(dy.data, dy.shape);
    const out = grads(xt, wt, dyt);
    const bytes = out.map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer));
    tf.dispose([xt, wt, dyt, ...out]);
    return bytes;
  };
  const [a, b] = [await once(), await once()];
  assert.equal(a.length, 2);
  for (let i = 0; i < a.length; i++) assert.ok(a[i]!.equals(b[i]!), `output ${i} differs between identical runs`);
});

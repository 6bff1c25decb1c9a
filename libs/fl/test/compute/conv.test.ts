import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { compareWithCpu, randn } from './compare.js';

/**
 * Conv2D and its two backprop kernels on wasm against the reference cpu backend (in a file of
 * their own: the cpu backend's conv gradients take most of a minute at batch 32).
 */

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  const info = await initCompute({ prefer: 'wasm', log: () => {} });
  assert.equal(info.backend, 'wasm');
});

const BATCHES = [1, 7, 32];

interface ConvCase {
  readonly name: string;
  readonly x: [number, number, number];
  readonly filter: [number, number, number, number];
  readonly stride: number;
  readonly pad: 'valid' | 'same';
}

const CONV_CASES: ConvCase[] = [
  { name: 'fedavgcnn conv1', x: [28, 28, 1], filter: [5, 5, 1, 32], stride: 1, pad: 'valid' },
  { name: 'fedavgcnn conv2', x: [12, 12, 32], filter: [5, 5, 32, 64], stride: 1, pad: 'valid' },
  // not used by the shipped models, but the kernels accept them, so they must be right too
  { name: 'same padding', x: [9, 9, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: 'stride 2 same', x: [9, 8, 3], filter: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { name: 'stride 2 valid', x: [11, 11, 2], filter: [5, 5, 2, 3], stride: 2, pad: 'valid' },
];

for (const c of CONV_CASES) {
  for (const b of BATCHES) {
    if (!c.name.startsWith('fedavgcnn') && b === 32) continue;
    test(`conv2d forward and both gradients match cpu: ${c.name}, batch ${b}`, async () => {
      const x = randn(1, [b, ...c.x]);
      const w = randn(2, c.filter);
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros([b, ...c.x]) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad).shape);
      const dy = randn(3, outShape);
      const problems = await compareWithCpu(`${c.name} b=${b}`, [x, w, dy], (xt, wt, dyt) => {
        const y = tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.stride, c.pad);
        const [dx, dw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad))([xt!, wt!], dyt);
        return [y, dx!, dw!];
      });
      assert.deepEqual(problems, []);
    });
  }
}


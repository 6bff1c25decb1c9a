import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initCompute } from '../../src/compute/index.js';
import { conv2DBackpropFilterDirect } from '../../src/compute/wasm/conv2d-backprop-filter.js';
import { closeTo, randn } from './compare.js';

type Shape4 = [number, number, number, number];

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  await initCompute({ prefer: 'wasm', log: () => {} });
});

test('the direct-loop Conv2DBackpropFilter (the stock baseline) matches cpu, strided and padded', async () => {
  const cases = [
    { x: [3, 9, 8, 2], f: [3, 3, 2, 4], stride: 2, pad: 'same' },
    { x: [2, 12, 12, 3], f: [5, 5, 3, 2], stride: 1, pad: 'valid' },
  ] as const satisfies readonly { x: Shape4; f: Shape4; stride: number; pad: 'same' | 'valid' }[];
  for (const c of cases) {
    const x = randn(40, [...c.x]);
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros([...c.x]) as tf.Tensor4D, tf.zeros([...c.f]) as tf.Tensor4D, c.stride, c.pad).shape);
    const dy = randn(41, dyShape);
    await tf.setBackend('cpu');
    const want = tf.tidy(() =>
      tf.grad((w: tf.Tensor) => tf.conv2d(tf.tensor4d(x.data, [...c.x]), w as tf.Tensor4D, c.stride, c.pad))(
        tf.zeros([...c.f]), tf.tensor(dy.data, dy.shape),
      ).dataSync() as Float32Array,
    );
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const xt = tf.tensor(x.data, x.shape);
    const dyt = tf.tensor(dy.data, dy.shape);
    const info = tf.backend_util.computeConv2DInfo([...c.x], [...c.f], c.stride, 1, c.pad);
    const out = conv2DBackpropFilterDirect(backend, xt, dyt, info);
    const got = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
    backend.disposeData(out.dataId);
    tf.dispose([xt, dyt]);
    assert.equal(closeTo(got, want, `direct dW ${JSON.stringify(c)}`), undefined);
  }
});

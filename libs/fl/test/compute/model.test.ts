import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initCompute } from '../../src/compute/index.js';
import { conv2DBackpropFilterDirect } from '../../src/compute/wasm/conv2d-backprop-filter.js';
import { createModel } from '../../src/models/index.js';
import type { ModelName } from '../../src/models/types.js';
import { closeTo, compareWithCpu, randn } from './compare.js';

type Shape4 = [number, number, number, number];

/** Whole-model gradients on wasm (every registered kernel at once) against the cpu backend. */

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  await initCompute({ prefer: 'wasm', log: () => {} });
});

function lossGrads(name: ModelName, batch: number) {
  const model = createModel(name);
  const flat = model.init(7);
  const params = model.spec.tensors.map((t) => ({ data: flat.slice(t.offset, t.offset + t.length), shape: [...t.shape] }));
  const x = randn(30, [batch, ...model.inputShape]);
  const labels = new Float32Array(batch * model.numClasses);
  for (let i = 0; i < batch; i++) labels[i * model.numClasses + ((i * 7) % model.numClasses)] = 1;
  const y = { data: labels, shape: [batch, model.numClasses] };
  const f = (...ts: tf.Tensor[]) => {
    const ps = ts.slice(0, params.length);
    const [xt, yt] = ts.slice(params.length) as [tf.Tensor, tf.Tensor];
    const loss = (...p: tf.Tensor[]) => tf.losses.softmaxCrossEntropy(yt, model.forward(p, xt)) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(loss)(ps);
    return [value, ...grads];
  };
  return { inputs: [...params, x, y], f };
}

for (const [name, batch] of [['mlp', 32], ['mlp', 7], ['fedavgcnn', 7], ['fedavgcnn', 1], ['logreg', 7]] as const) {
  test(`tf.grads of the whole ${name} loss matches cpu at batch ${batch}`, async () => {
    const { inputs, f } = lossGrads(name, batch);
    const problems = await compareWithCpu(`${name} b=${batch}`, inputs, f, 2e-4);
    assert.deepEqual(problems, []);
  });
}

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

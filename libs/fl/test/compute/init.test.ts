import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { computeBackendName, initCompute } from '../../src/compute/index.js';
import { loadNativeKernels } from '../../src/compute/native/addon.js';

function addonError(): string | undefined {
  try {
    loadNativeKernels();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

// The steps share one process-wide state (initCompute is idempotent), so they run in order.

test('initCompute: selection, errors and idempotence', async (t) => {
  const saved = process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  try {
    await t.test('computeBackendName throws before initialisation', () => {
      assert.throws(() => computeBackendName(), /before initCompute/);
    });

    await t.test('an unknown FEDSIM_BACKEND value is rejected naming the variable', async () => {
      // Apps read the variable and say where the choice came from; the library reads no environment.
      await assert.rejects(
        initCompute({ prefer: 'tpu' as 'cpu', preferFrom: 'env FEDSIM_BACKEND', log: () => {} }),
        /FEDSIM_BACKEND.*'tpu'.*expected one of auto/,
      );
    });

    await t.test('an unknown prefer value is rejected', async () => {
      delete process.env['FEDSIM_BACKEND'];
      await assert.rejects(initCompute({ prefer: 'gpu' as 'cpu', log: () => {} }), /prefer.*'gpu'/);
    });

    await t.test('an explicit backend that cannot load throws with its name and the reason', async () => {
      await assert.rejects(
        initCompute({ prefer: 'tensorflow', log: () => {} }),
        /compute backend 'tensorflow' was requested but cannot be loaded: package @tensorflow\/tfjs-node is not installed/,
      );
      await assert.rejects(initCompute({ prefer: 'tensorflow-gpu', log: () => {} }), /'tensorflow-gpu' was requested.*tfjs-node-gpu/);
      // FEDSIM_BACKEND in the environment no longer overrides what the caller asks for.
      process.env['FEDSIM_BACKEND'] = 'tensorflow-gpu';
      await assert.rejects(initCompute({ prefer: 'tensorflow', log: () => {} }), /'tensorflow' was requested.*tfjs-node is not installed/);
    });

    await t.test('auto skips the absent tfjs-node backends, logs why and picks wasm-blas, else wasm', async () => {
      const lines: string[] = [];
      const info = await initCompute({ prefer: 'auto', log: (m) => lines.push(m) });
      const missingAddon = addonError();
      const expected = missingAddon === undefined ? 'wasm-blas' : 'wasm';
      assert.equal(info.backend, expected);
      assert.deepEqual(
        info.tried.map((x) => x.backend),
        missingAddon === undefined ? ['tensorflow-gpu', 'tensorflow'] : ['tensorflow-gpu', 'tensorflow', 'wasm-blas'],
      );
      assert.ok(info.tried.slice(0, 2).every((x) => /not installed/.test(x.reason)));
      assert.ok(lines.some((l) => new RegExp(`compute backend: ${expected}; skipped tensorflow-gpu \\(.*\\); tensorflow \\(`).test(l)), lines.join('\n'));
      assert.equal(computeBackendName(), expected);
      assert.equal(tf.getBackend(), 'wasm');
    });

    await t.test('later calls return the first result whatever they ask for', async () => {
      delete process.env['FEDSIM_BACKEND'];
      const again = await initCompute({ prefer: 'cpu', log: () => assert.fail('must not log again') });
      assert.equal(again.backend, computeBackendName());
      assert.equal(tf.getBackend(), 'wasm');
    });

    await t.test('the wasm backend can train: the missing gradient kernels are registered', () => {
      for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'BatchMatMul']) {
        assert.ok(tf.getKernel(k, 'wasm'), `kernel ${k} is not registered for wasm`);
      }
      const w = tf.variable(tf.ones([5, 5, 1, 2]));
      const x = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
      const { grads } = tf.variableGrads(() => tf.sum(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, 'valid')) as tf.Scalar, [w]);
      // every tap sees the 4×4 output positions, each with input 1
      assert.deepEqual(Array.from(grads[w.name]!.dataSync()), new Array(50).fill(16));
      tf.dispose([w, x, ...Object.values(grads)]);
    });
  } finally {
    if (saved === undefined) delete process.env['FEDSIM_BACKEND'];
    else process.env['FEDSIM_BACKEND'] = saved;
  }
});

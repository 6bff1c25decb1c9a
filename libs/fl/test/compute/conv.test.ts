import { before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { convSuite } from './suites.js';

/**
 * Conv2D and its backprop kernels on wasm against the reference cpu backend, in a file of their
 * own: the cpu backend's conv gradients take most of the time at batch 32.
 */

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  const info = await initCompute({ prefer: 'wasm', log: () => {} });
  assert.equal(info.backend, 'wasm');
});

convSuite('wasm', [1, 7, 32]);

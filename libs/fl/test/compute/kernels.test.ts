import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { closeTo } from './compare.js';
import { denseSuite, determinismSuite, fusedLayerSuite, layerStackSuite, modelSuite, poolSuite, sgdStepSuite } from './suites.js';

/** The wasm backend's training kernels (pure-npm default) against the reference cpu backend. */

before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  const info = await initCompute({ prefer: 'wasm', log: () => {} });
  assert.equal(info.backend, 'wasm');
});

poolSuite('wasm', [1, 7, 32]);
denseSuite('wasm', [1, 7, 32]);
modelSuite('wasm', [['mlp', 32], ['mlp', 7], ['fedavgcnn', 7], ['fedavgcnn', 1], ['logreg', 7]]);
determinismSuite('wasm');
sgdStepSuite('wasm');
fusedLayerSuite('wasm', [1, 7, 32]);
layerStackSuite('wasm');

test('the comparison detects a wrong result (the checks can fail)', () => {
  const want = new Float32Array([1, -2, 3, 1000]);
  assert.equal(closeTo(Float32Array.from(want), want, 'same'), undefined);
  const off = Float32Array.from(want);
  off[1] = -2.05;
  assert.match(closeTo(off, want, 'perturbed') ?? '', /element 1/);
});


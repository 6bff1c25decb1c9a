import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { loadNativeKernels } from '../../src/compute/native/addon.js';
import { denseSuite, determinismSuite, modelSuite, poolSuite, sgdStepSuite } from './suites.js';

/**
 * The OpenBLAS addon's kernels (backend 'wasm-blas') against the reference cpu backend. Skipped
 * where the optional addon is not built (npm run build:native -w @fedsim/native-kernels).
 */

let absent: string | undefined;
try {
  loadNativeKernels();
} catch (e) {
  absent = (e as Error).message;
}

if (absent !== undefined) {
  test('wasm-blas kernels', { skip: `native addon unavailable: ${absent}` }, () => {});
} else {
  before(async () => {
    delete process.env['FEDSIM_BACKEND'];
    delete process.env['FEDSIM_WASM_KERNELS'];
    const info = await initCompute({ prefer: 'wasm-blas', log: () => {} });
    assert.equal(info.backend, 'wasm-blas');
  });
  poolSuite('wasm-blas', [7]);
  denseSuite('wasm-blas', [1, 7, 32]);
  modelSuite('wasm-blas', [['mlp', 32], ['mlp', 7], ['fedavgcnn', 7], ['fedavgcnn', 1], ['logreg', 7]]);
  determinismSuite('wasm-blas');
  sgdStepSuite('wasm-blas');
}

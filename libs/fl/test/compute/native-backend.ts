import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { loadNativeKernels } from '../../src/compute/native/addon.js';

/**
 * Registers `suites` on the 'wasm-blas' backend, or one skipped test that says why the optional
 * addon is absent (build it with `npm run build:native`).
 */
export function onNativeBackend(suites: () => void): void {
  let absent: string | undefined;
  try {
    loadNativeKernels();
  } catch (e) {
    absent = (e as Error).message;
  }
  if (absent !== undefined) {
    test('wasm-blas kernels', { skip: `native addon unavailable: ${absent}` }, () => {});
    return;
  }
  before(async () => {
    delete process.env['FEDSIM_BACKEND'];
    delete process.env['FEDSIM_WASM_KERNELS'];
    const info = await initCompute({ prefer: 'wasm-blas', log: () => {} });
    assert.equal(info.backend, 'wasm-blas');
  });
  suites();
}

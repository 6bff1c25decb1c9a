import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/index.js';
import { simdKernelBuild } from '../../src/compute/wasm/simd/module.js';
import { convSuite, denseSuite, determinismSuite, fusedLayerSuite, layerStackSuite, poolSuite } from './suites.js';

/**
 * The wasm training kernels on the plain SIMD128 build (FEDSIM_WASM_KERNELS=simd128: no fused
 * multiply-add), against the reference cpu backend. kernels.test.ts and conv.test.ts run the
 * build the runtime picks, which is the relaxed-SIMD one wherever it is accepted.
 */

const logs: string[] = [];
before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  const info = await initCompute({ prefer: 'wasm', wasmKernels: 'simd128', log: (m) => logs.push(m) });
  assert.equal(info.backend, 'wasm');
});

test('simd128 mode runs the plain build and says so', () => {
  assert.equal(simdKernelBuild(), 'simd128');
  assert.ok(logs.some((m) => m.includes('SIMD kernels: simd128 build')), logs.join('\n'));
});

convSuite('wasm simd128', [1, 7]);
poolSuite('wasm simd128', [1, 7]);
denseSuite('wasm simd128', [1, 7]);
fusedLayerSuite('wasm simd128', [1, 7]);
determinismSuite('wasm simd128');
layerStackSuite('wasm simd128');

import { after, before } from 'node:test';
import { loadNativeKernels } from '../../src/compute/native/addon.js';
import { onNativeBackend } from './native-backend.js';
import { convSuite, determinismSuite } from './suites.js';

/**
 * The addon's im2col + sgemm convolutions (FEDSIM_NATIVE_CONV=im2col; the only ones when the addon
 * was built without oneDNN) against the reference cpu backend. native-conv.test.ts covers the
 * default engine (oneDNN where it was compiled in).
 */
onNativeBackend(() => {
  let previous = true;
  before(() => {
    const native = loadNativeKernels();
    previous = native.info().convEngine === 'onednn';
    native.setConvEngine(false);
  });
  after(() => void loadNativeKernels().setConvEngine(previous));
  convSuite('wasm-blas (im2col)', [1, 7, 32]);
  determinismSuite('wasm-blas (im2col)');
});

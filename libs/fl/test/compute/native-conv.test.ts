import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeKernels } from '../../src/compute/native/addon.js';
import { onNativeBackend } from './native-backend.js';
import { convSuite } from './suites.js';

/**
 * The addon's Conv2D and backprop kernels (backend 'wasm-blas': oneDNN where it was compiled in,
 * else im2col + OpenBLAS; native-conv-im2col.test.ts covers the latter) against the reference cpu backend.
 */
onNativeBackend(() => {
  test('wasm-blas: convolutions run through oneDNN when libdnnl-dev was present at build time', { skip: !existsSync('/usr/include/oneapi/dnnl/dnnl.h') && 'libdnnl-dev not installed' }, () => {
    const native = loadNativeKernels();
    assert.equal(native.info().convEngine, 'onednn');
    tf.tidy(() => tf.conv2d(tf.ones([2, 12, 12, 32]) as tf.Tensor4D, tf.ones([5, 5, 32, 64]) as tf.Tensor4D, 1, 'valid').dataSync());
    assert.notEqual(native.info().convImpl, '', 'oneDNN ran no convolution (it fell back to im2col)');
  });
  convSuite('wasm-blas', [1, 7, 32]);
});

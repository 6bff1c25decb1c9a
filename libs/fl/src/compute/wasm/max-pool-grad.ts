import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapF32, input, type KernelArgs } from './kernel-util.js';
import { simdKernelsFor } from './simd/module.js';

/**
 * Routes each output gradient to the first maximal input of its window (row-major window order,
 * as the CPU backend and PyTorch do). The models' 2×2/2 pool runs on the SIMD kernels; other
 * windows in plain loops over the heap, channels innermost so memory is walked sequentially (the
 * package's own kernel is several times slower on these shapes).
 */
export function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = input(args, 'dy');
  const x = input(args, 'input');
  const { filterSize, strides, pad, dimRoundingMode } = (args.attrs ?? {}) as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, effectiveFilterHeight: fh, effectiveFilterWidth: fw, padInfo } = info;
  const out = backend.makeOutput(x.shape, 'float32');
  if (fh === 2 && fw === 2 && strideHeight === 2 && strideWidth === 2 && padInfo.top === 0 && padInfo.left === 0) {
    const simd = simdKernelsFor(backend);
    simd.k.maxPool2x2Grad(simd.ptr(x), simd.ptr(dy), simd.ptr(out), batchSize, inHeight, inWidth, C);
    return out;
  }
  const dx = heapF32(backend, out);
  const xv = heapF32(backend, x);
  const dyv = heapF32(backend, dy);
  dx.fill(0);
  const best = new Float32Array(C);
  const bestAt = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      const r0 = i * strideHeight - padInfo.top;
      for (let j = 0; j < outWidth; j++) {
        const c0 = j * strideWidth - padInfo.left;
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let p = Math.max(0, -r0); p < fh && r0 + p < inHeight; p++) {
          for (let q = Math.max(0, -c0); q < fw && c0 + q < inWidth; q++) {
            const off = ((b * inHeight + r0 + p) * inWidth + c0 + q) * C;
            for (let c = 0; c < C; c++) {
              const v = xv[off + c]!;
              if (v > best[c]! || bestAt[c] === -1) {
                best[c] = v;
                bestAt[c] = off + c;
              }
            }
          }
        }
        const dyOff = ((b * outHeight + i) * outWidth + j) * C;
        for (let c = 0; c < C; c++) {
          const at = bestAt[c]!;
          if (at >= 0) dx[at]! += dyv[dyOff + c]!;
        }
      }
    }
  }
  return out;
}

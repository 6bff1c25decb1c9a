import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapF32, input, type KernelArgs } from './kernel-util.js';

/**
 * Routes each output gradient to the first maximal input of its window (row-major window order,
 * as the CPU backend and PyTorch do). Plain loops over the heap, channels innermost so memory is
 * walked sequentially; the package's own kernel is several times slower on these shapes.
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
  const dx = heapF32(backend, out);
  const xv = heapF32(backend, x);
  const dyv = heapF32(backend, dy);
  if (fh === 2 && fw === 2 && strideHeight === 2 && strideWidth === 2 && padInfo.top === 0 && padInfo.left === 0) {
    pool2x2Grad(dx, xv, dyv, batchSize, inHeight, inWidth, C, outHeight, outWidth);
    return out;
  }
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

/** The models' 2×2/2 valid pool: windows tile the image, so every dx element is written once. */
function pool2x2Grad(dx: Float32Array, xv: Float32Array, dyv: Float32Array, B: number, H: number, W: number, C: number, OH: number, OW: number): void {
  if (OH * 2 !== H || OW * 2 !== W) dx.fill(0);
  const rowStride = W * C;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const o00 = ((b * H + 2 * i) * W + 2 * j) * C;
        const o01 = o00 + C;
        const o10 = o00 + rowStride;
        const o11 = o10 + C;
        const d = ((b * OH + i) * OW + j) * C;
        for (let c = 0; c < C; c++) {
          const v00 = xv[o00 + c]!;
          const v01 = xv[o01 + c]!;
          const v10 = xv[o10 + c]!;
          const v11 = xv[o11 + c]!;
          const g = dyv[d + c]!;
          let best = v00;
          let k = 0;
          if (v01 > best) {
            best = v01;
            k = 1;
          }
          if (v10 > best) {
            best = v10;
            k = 2;
          }
          if (v11 > best) k = 3;
          dx[o00 + c] = k === 0 ? g : 0;
          dx[o01 + c] = k === 1 ? g : 0;
          dx[o10 + c] = k === 2 ? g : 0;
          dx[o11 + c] = k === 3 ? g : 0;
        }
      }
    }
  }
}
